#!/bin/sh
# check_includes.sh - the folders may include only downwards (lib/README)
#
# Reads every #include line of lib/, milter/ and tools/ and checks:
#   lib/*.c, lib/*.h (the shared model) include no header of lib/dns/,
#     lib/auth/ or lib/score/ - except the one door: lib/engine.c and its
#     private parts lib/engine_*.c and lib/engine_int.h;
#   lib/dns/ includes lib/dns/ and the shared model;
#   lib/auth/ includes lib/auth/, lib/dns/ and the shared model;
#   lib/score/ includes lib/score/ and the shared model, never auth/ or dns/;
#   lib/store/ includes lib/store/ and the shared model;
#   lib/report/ includes lib/report/, lib/store/, lib/auth/, lib/dns/ and
#     the shared model;
#   milter/ includes its own headers, engine.h, config.h, result.h, build.h
#     and strbuf.h (the one string buffer: the protocol codec's replies);
#   lib/outbound/ includes lib/outbound/, lib/store/ and the shared model;
#   tools/ includes engine.h, config.h, result.h, build.h, and the doors
#     report/report.h (authtag-report) and outbound/outbound_tool.h
#     (authtag-quota, authtag-welcome);
#   nothing in lib/ includes libmilter;
#   nothing in lib/ calls strcpy, strcat, sprintf or vsprintf (strbuf.h).
# Prints each violation as file:line and exits 1 if there is one.
top=${top_srcdir:-.}
cd "$top" || exit 99
bad=0
n=0
# violation FILE:LINE TEXT WHY
violation() {
	echo "not ok - $1 $2 ($3)"
	bad=$((bad + 1))
}
shared="authres.h config.h dataset.h engine.h hostlist.h mailaddr.h result.h command.h strbuf.h trace.h build.h"
for f in $(find lib milter tools -name '*.[ch]' | sort); do
	dir=$(dirname "$f")
	grep -n '^#[ \t]*include' "$f" >"${TMPDIR:-/tmp}/inc.$$"
	while IFS= read -r line; do
		n=$((n + 1))
		num=${line%%:*}
		inc=$(printf '%s' "$line" | sed -n 's/.*include[ \t]*["<]\([^">]*\)[">].*/\1/p')
		case $inc in
		libmilter/*)
			case $dir in lib*) violation "$f:$num" "$inc" "libmilter in lib/" ;; esac
			continue ;;
		esac
		# only our own headers ("...") from here on
		printf '%s' "$line" | grep -q '"' || continue
		base=${inc##*/}
		sub=
		case $inc in */*) sub=${inc%%/*} ;; esac
		[ -z "$sub" ] && [ -f "$dir/$base" ] && [ "$dir" != lib ] && sub=${dir#lib/}
		case $dir in
		lib)
			case $f in lib/engine.c | lib/engine_*.c | lib/engine_int.h) continue ;; esac
			if [ -n "$sub" ]; then
				violation "$f:$num" "$inc" "the shared model includes no folder below it"
			fi ;;
		lib/dns)
			case $sub in "" | dns) ;; *) violation "$f:$num" "$inc" "dns/ sees only dns/ and the shared model" ;; esac ;;
		lib/auth)
			case $sub in "" | auth | dns) ;; *) violation "$f:$num" "$inc" "auth/ sees auth/, dns/ and the shared model" ;; esac ;;
		lib/score)
			case $sub in "" | score) ;; *) violation "$f:$num" "$inc" "score/ sees only score/ and the shared model" ;; esac ;;
		lib/store)
			case $sub in "" | store) ;; *) violation "$f:$num" "$inc" "store/ sees only store/ and the shared model" ;; esac ;;
		lib/report)
			case $sub in "" | report | store | auth | dns) ;; *) violation "$f:$num" "$inc" "report/ sees report/, store/, auth/, dns/ and the shared model" ;; esac ;;
		lib/outbound)
			case $sub in "" | outbound | store) ;; *) violation "$f:$num" "$inc" "outbound/ sees outbound/, store/ and the shared model" ;; esac ;;
		milter)
			[ -f "milter/$inc" ] && continue
			case " engine.h config.h result.h build.h strbuf.h " in
			*" $inc "*) ;;
			*) violation "$f:$num" "$inc" "milter/ sees engine.h, config.h, result.h, strbuf.h" ;;
			esac ;;
		tools)
			case " engine.h config.h result.h build.h report/report.h outbound/outbound_tool.h " in
			*" $inc "*) ;;
			*) violation "$f:$num" "$inc" "tools/ see engine.h, config.h, result.h" ;;
			esac ;;
		esac
		# a bare name in lib/ must be the shared model or a neighbour
		if [ -z "$sub" ] && [ "${dir%%/*}" = lib ] && [ ! -f "$dir/$base" ]; then
			case " $shared " in *" $base "*) ;; *)
				violation "$f:$num" "$inc" "not in the shared model nor in $dir" ;;
			esac
		fi
	done <"${TMPDIR:-/tmp}/inc.$$"
done
rm -f "${TMPDIR:-/tmp}/inc.$$"
unsafe=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf)[ \t]*\(' $(find lib -name '*.c') |
	grep -vE '\b(snprintf|vsnprintf|asprintf|vasprintf)\b' || true)
if [ -n "$unsafe" ]; then
	printf '%s\n' "$unsafe" | while IFS= read -r l; do
		echo "not ok - ${l%%:*}:$(echo "$l" | cut -d: -f2) raw string call (use strbuf.h or a checked snprintf)"
	done
	bad=$((bad + $(printf '%s\n' "$unsafe" | wc -l)))
fi
echo "checked $n #include lines in $(find lib milter tools -name '*.[ch]' | wc -l) files: folders include only downwards, no libmilter in lib/, no strcpy/strcat/sprintf in lib/"
if [ "$bad" -eq 0 ]; then
	echo "1 passed, 0 failed"
else
	echo "0 passed, 1 failed ($bad violations)"
	exit 1
fi

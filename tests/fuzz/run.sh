#!/bin/sh
# run.sh - build the libFuzzer harnesses of tests/fuzz and run each one
#
# Usage: tests/fuzz/run.sh [-b] [SECONDS] [HARNESS...]
#   SECONDS   how long each harness runs (default 60; -max_total_time)
#   HARNESS   names without the fuzz_ prefix (default: all of them)
#   -b        build only
# Environment: BUILD (default /tmp/build-fuzz), JOBS (harnesses run at
# the same time, default 2), CC (default clang), FUZZ_ARGS (more libFuzzer
# flags, e.g. -jobs or -dict).
#
# Each harness links the lib/ sources it needs, compiled with
# -fsanitize=fuzzer-no-link,address,undefined. New corpus units go to
# $BUILD/corpus/NAME (the seeds in tests/fuzz/corpus/NAME stay as they
# are), crashes to $BUILD/artifacts/, logs to $BUILD/logs/NAME.log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-/tmp/build-fuzz}
JOBS=${JOBS:-2}
CC=${CC:-clang}
FUZZ_ARGS=${FUZZ_ARGS:-}
build_only=0
if [ "${1:-}" = "-b" ]; then
	build_only=1
	shift
fi
secs=60
case ${1:-} in
[0-9]*) secs=$1; shift ;;
esac

ALL="mailaddr authres spf dmarc_record dmarc_psl score_rules mimetext userprefs spamd_reply dkim_tags dkim_sig dkim_key dkim_canon signtab arc report_row outbound milterproto"
harnesses=${*:-$ALL}

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -Wall -Wextra $SAN -I$BUILD \
	-I$top/lib -I$top/milter -I$here"

# deps NAME - the lib/ sources and libraries harness NAME links
deps()
{
	case $1 in
	mailaddr) echo "mailaddr mailaddr_idna" ;;
	authres) echo "authres result strbuf" ;;
	spf) # dns.c for dns_name_valid(), and the answer store it uses
		echo "auth/spf_parse dns/dns dns/dns_store trace strbuf"
		echo "-lunbound -lpthread" ;;
	dmarc_record) echo "auth/dmarc_record" ;;
	dmarc_psl) echo "auth/dmarc_psl mailaddr mailaddr_idna" ;;
	score_rules) echo "strbuf score/score_rules_parse score/score_rules_load score/score_meta \
		-lpcre2-8 -lm" ;;
	mimetext) echo "score/mimetext score/mimetext_decode score/mimetext_html strbuf" ;;
	userprefs) echo "score/userprefs mailaddr_list trace strbuf -lpthread -lm" ;;
	dkim_tags) echo "auth/dkim_tags" ;;
	dkim_sig) echo "auth/dkim_sig auth/dkim_tags" ;;
	dkim_key) echo "auth/dkim_key auth/dkim_tags dns/dns dns/dns_store trace strbuf \
		-lcrypto -lunbound -lpthread" ;;
	dkim_canon) echo "auth/dkim_canon strbuf -lcrypto" ;;
	spamd_reply) echo "score/score_spamd score/score score/score_rules \
		score/score_rules_parse score/score_rules_load score/score_meta \
		score/userprefs score/userprefs_cache score/mimetext \
		score/mimetext_decode score/mimetext_html mailaddr mailaddr_idna \
		mailaddr_list strbuf trace result config config_sign config_report config_outbound hostlist dataset \
		-lpcre2-8 -lm -lpthread" ;;
	arc) echo "auth/arc auth/arc_seal auth/dkim_sig auth/dkim_tags auth/dkim_canon \
		auth/dkim_key auth/dkim_sign dns/dns dns/dns_store strbuf trace config \
		config_sign config_report config_outbound hostlist dataset -lcrypto -lunbound -lpthread" ;;
	report_row) echo "report/report_row strbuf" ;;
	milterproto) echo "milter/proto strbuf" ;;
	outbound) echo "outbound/quota outbound/welcome config config_sign config_report \
		config_outbound hostlist dataset command strbuf store/store store/store_sqlite \
		store/store_redis -lsqlite3 -lhiredis -lpthread" ;;
	signtab) echo "auth/dkim_signtab auth/dkim_sign auth/dkim_canon dataset \
		hostlist config config_sign config_report config_outbound strbuf -lcrypto" ;;
	*) echo "run.sh: unknown harness $1" >&2; exit 2 ;;
	esac
}

mkdir -p "$BUILD/obj" "$BUILD/corpus" "$BUILD/artifacts" "$BUILD/logs"
# lib/ sources include configure's build.h first: here a stand-in with
# the paths config.c needs (-D_GNU_SOURCE above does the rest)
printf '#define SYSCONFDIR "/etc"\n#define DATADIR "/usr/share/authtag"\n#define STATEDIR "/var/lib/authtag"\n' \
	>"$BUILD/build.h"
for h in $harnesses; do
	objs= libs=
	for d in $(deps "$h"); do
		case $d in
		-*) libs="$libs $d"; continue ;;
		esac
		o="$BUILD/obj/$(echo "$d" | tr / _).o"
		# lib/ by default; milter/proto is the daemon's pure codec
		src="$top/lib/$d.c"
		case $d in milter/*) src="$top/$d.c" ;; esac
		# a changed header changes struct layouts: rebuild then too
		if [ ! -f "$o" ] || [ "$src" -nt "$o" ] ||
		    [ -n "$(find "$top/lib" "$top/milter" -name '*.h' -newer "$o" | head -n 1)" ]; then
			$CC $CFLAGS -fsanitize=fuzzer-no-link -c \
			    "$src" -o "$o"
		fi
		objs="$objs $o"
	done
	echo "  CCLD  fuzz_$h"
	$CC $CFLAGS -fsanitize=fuzzer "$here/fuzz_$h.c" $objs $libs \
	    -o "$BUILD/fuzz_$h"
done
[ "$build_only" = 1 ] && exit 0

# run1 NAME - fuzz one harness for $secs seconds; 0 when nothing was found
run1()
{
	h=$1
	mkdir -p "$BUILD/corpus/$h"
	"$BUILD/fuzz_$h" -max_total_time="$secs" -timeout=5 \
	    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$BUILD/artifacts/$h-" $FUZZ_ARGS \
	    "$BUILD/corpus/$h" "$here/corpus/$h" \
	    < /dev/null > "$BUILD/logs/$h.log" 2>&1
}

status=0
running=0
pids=
for h in $harnesses; do
	echo "  FUZZ  fuzz_$h for ${secs}s (log: $BUILD/logs/$h.log)"
	run1 "$h" &
	pids="$pids $!:$h"
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		# wait for the oldest one: harnesses take the same time
		first=${pids# }
		first=${first%% *}
		pids=${pids# }
		pids=${pids#"$first"}
		wait "${first%%:*}" || { status=1;
			echo "  FAIL  fuzz_${first#*:}: see its log"; }
		running=$((running - 1))
	fi
done
for p in $pids; do
	wait "${p%%:*}" || { status=1; echo "  FAIL  fuzz_${p#*:}: see its log"; }
done
for h in $harnesses; do
	printf '  %-14s %s\n' "$h" \
	    "$(grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)' \
	    "$BUILD/logs/$h.log" | tr -s ' \t' ' ' | tr '\n' ' ')"
done
exit $status

#!/bin/sh
# compat.sh - authtag's rules scorer against the real SpamAssassin
#
# 1. every rules/*.cf (and tests/sa/compat-extra.cf) passes
#    `spamassassin --lint` with the file installed alone in a private site
#    directory, as /etc/spamassassin would hold it, with Debian's rules;
# 2. broken rule files are refused by both SpamAssassin and authtag, and
#    authtag names file:line;
# 3. the scenario messages (score_tool --gen: A-R headers written by
#    lib/authres.c) and tests/sa/messages/*.eml hit the same rules with
#    the same scores (within 0.01) and the same total in both engines,
#    with only these rules active (Debian's rules are not loaded).
# Offline: dns_available no, -L. Skips (77) without spamassassin.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
command -v spamassassin >/dev/null 2>&1 || {
	echo "SKIP: spamassassin is not installed"
	exit 77
}
tool=$top_builddir/tests/unit/score_tool
share=/usr/share/spamassassin
work=$(mktemp -d "${TMPDIR:-/tmp}/authtag-sa.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/site" "$work/sa" "$work/ours" "$work/msgs" "$work/bad"
cp /etc/spamassassin/*.pre "$work/site/"
cat >"$work/site/local.cf" <<'EOF'
dns_available no
skip_rbl_checks 1
use_bayes 0
bayes_auto_learn 0
use_razor2 0
use_pyzor 0
report_safe 0
add_header all Tests _TESTSSCORES(,)_
add_header all Status _YESNO_, score=_SCORE_ required=_REQD_ tests=_TESTS_ autolearn=no
add_header all Score _SCORE_
EOF
fail=0
pass=0

# sa_run - spamassassin on private rules dir $1, offline
sa_run() {
	d=$1
	shift
	spamassassin -C "$d" --siteconfigpath="$work/site" -x -L "$@" 2>&1
}

# 1. lint, one file at a time, installed where an administrator puts it:
# the site directory (/etc/spamassassin), with Debian's own rules loaded
for f in "$top_srcdir"/rules/*.cf "$top_srcdir"/tests/sa/compat-extra.cf; do
	d=$work/lint-$(basename "$f" .cf)
	mkdir "$d"
	cp "$work"/site/* "$f" "$d/"
	if out=$(spamassassin -C "$share" --siteconfigpath="$d" -x -L \
		--lint 2>&1); then
		echo "PASS lint $(basename "$f")"
		pass=$((pass + 1))
	else
		echo "FAIL lint $(basename "$f"): $out"
		fail=$((fail + 1))
	fi
done

# 2. files both must refuse (one broken line each, on line 2)
i=0
while IFS='|' read -r what line; do
	i=$((i + 1))
	d=$work/bad/$i
	mkdir "$d"
	printf '# broken: %s\n%s\n' "$what" "$line" >"$d/50_bad.cf"
	cp "$share/10_default_prefs.cf" "$share/20_aux_tlds.cf" "$d/"
	sa_ok=0
	spamassassin -C "$d" --siteconfigpath="$work/site" -x -L --lint \
		>/dev/null 2>&1 && sa_ok=1
	rm "$d/10_default_prefs.cf" "$d/20_aux_tlds.cf"
	ours=$("$tool" -r "$d" "$top_srcdir/tests/sa/messages/latin1.eml" 2>&1)
	if [ "$sa_ok" = 0 ] && printf '%s' "$ours" | grep -q "50_bad.cf:2: "; then
		echo "PASS refused by both: $what"
		pass=$((pass + 1))
	else
		echo "FAIL $what: spamassassin lint ok=$sa_ok, authtag: $ours"
		fail=$((fail + 1))
	fi
done <<'EOF'
bad regex|header BAD_RE Subject =~ /(unclosed/
unknown setting|no_such_setting 1
rule name|header 1BAD Subject =~ /x/
score not a number|score SOME_RULE abc
meta token|meta BAD_META SOME_RULE $ OTHER
unclosed if|ifplugin Mail::SpamAssassin::Plugin::DKIM
always matching|body EMPTY_RE //
missing delimiter|body NO_DELIM free money
unquoted delimiter|body SLASH /a/b/
bad modifier|body BAD_MOD /x/g
header syntax|header BAD_HDR Subject ~= /x/
endif alone|endif
meta loop|meta LOOP_A LOOP_A
EOF

# xspam - the X-Spam-Flag/Status/Score/Level fields of a message, one per
# line (folding shown as "|"), sorted: to compare byte for byte
xspam() {
	awk '
		/^X-Spam-(Flag|Status|Score|Level):/ { if (f != "") print f; f = $0; next }
		f != "" && /^[ \t]/ { f = f "|" $0; next }
		f != "" { print f; f = "" }
		END { if (f != "") print f }' | sort
}

# 3. the same hits and scores in both engines, the same X-Spam-* text
cp "$share/10_default_prefs.cf" "$share/20_aux_tlds.cf" "$work/sa/"
for f in "$top_srcdir"/rules/*.cf "$top_srcdir"/tests/sa/compat-extra.cf; do
	cp "$f" "$work/sa/"
	cp "$f" "$work/ours/"
done
"$tool" --gen "$work/msgs" || exit 99
cp "$top_srcdir"/tests/sa/messages/*.eml "$work/msgs/"
for m in "$work"/msgs/*.eml; do
	name=$(basename "$m")
	sa_out=$(sa_run "$work/sa" <"$m")
	sa_hdrs=$(printf '%s\n' "$sa_out" | sed '/^$/q' | xspam)
	our_out=$("$tool" -r "$work/ours" "$m")
	our_hdrs=$(printf '%s\n' "$our_out" | xspam)
	sa=$(printf '%s\n' "$sa_out" | awk '
		/^X-Spam-Tests:/ { on = 1; sub(/^X-Spam-Tests: */, ""); v = $0; next }
		on && /^[ \t]/ { sub(/^[ \t]+/, ""); v = v $0; next }
		on { on = 0 }
		END { n = split(v, t, ","); for (i = 1; i <= n; i++) if (t[i] != "none") print t[i] }' |
		sort)
	ours=$(printf '%s\n' "$our_out" | awk '/^hit / { print $2 "=" $3 }' | sort)
	verdict=$(printf '%s\n--\n%s\n' "$sa" "$ours" | awk -F= '
		/^--$/ { side = 2; next }
		NF < 2 { next }
		side != 2 { sa[$1] = $2; tsa += $2; next }
		{ us[$1] = $2; tus += $2 }
		END {
			bad = ""
			for (k in sa) if (!(k in us)) bad = bad " only-sa:" k
			for (k in us) if (!(k in sa)) bad = bad " only-authtag:" k
			for (k in sa) if ((k in us) && (sa[k] - us[k] > 0.01 || us[k] - sa[k] > 0.01))
				bad = bad " score:" k "(" sa[k] "/" us[k] ")"
			if (tsa - tus > 0.01 || tus - tsa > 0.01)
				bad = bad " total(" tsa "/" tus ")"
			printf "%s", bad == "" ? "same total=" tsa : bad
		}')
	[ "$sa_hdrs" = "$our_hdrs" ] ||
		verdict="X-Spam headers differ: SpamAssassin [$sa_hdrs] authtag [$our_hdrs]"
	case $verdict in
	same*)
		echo "PASS $name: $verdict [$(echo $ours | tr ' ' ',')]"
		pass=$((pass + 1))
		;;
	*)
		echo "FAIL $name:$verdict"
		fail=$((fail + 1))
		;;
	esac
done
echo "compat: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# report.sh - turn the benchmark's raw log into the results table and chart
#
# usage: report.sh RAW.log OUTDIR
# Reads the RESULT/PROC/HOLD/E2E lines bench.sh collected and writes
# OUTDIR/results.md (the tables: per setup and concurrency CPU ms/msg,
# msgs/s, p99 and how many results differ from the corpus' expectation;
# authtag/peer ratios of each back-to-back pair; the figures behind issue
# 5's targets; Postfix end to end), OUTDIR/chart.dat and, with gnuplot,
# OUTDIR/chart.png.
set -eu
RAW=$1
OUT=$2

# kv - awk helper: the value of key k in the current line
AWKLIB='function kv(k,   i, n, a) { n = split($0, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
function kv_of(line, k,   i, n, a) { n = split(line, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }'

# the lock symbol with the most self time in the perf profile, if any
LOCKS=
if [ -f "$OUT/perf-self.txt" ]; then
	LOCKS=$(awk '{ s = ""; for (i = 2; i < NF; i++) if ($i == "[.]" || $i == "[k]") s = $(i + 1) }
		s ~ /mutex|rwlock|lll_lock|futex_wait|spin_lock|sem_wait/ {
		p = $1; sub(/%/, "", p); if (p + 0 > max) { max = p + 0; sym = s } }
		END { if (sym != "") printf "LOCK symbol=%s self=%.2f\n", sym, max }' "$OUT/perf-self.txt")
fi

{ [ -z "$LOCKS" ] || echo "$LOCKS"; cat "$RAW"; } | awk "$AWKLIB"'
/^DATE / { date = substr($0, 6) }
/^MACHINE / { machine = substr($0, 9); ncpu = $2 }
/^VERSIONS / { versions = substr($0, 10) }
/^RESULT / {
	l = kv("label"); c = kv("conc"); key = l SUBSEP c
	cpu[key] = kv("cpu_ms_msg"); rate[key] = kv("msgs_s"); p99[key] = kv("p99_ms")
	p50[key] = kv("p50_ms"); ok[key] = kv("ok"); err[key] = kv("errors")
	rss[key] = kv("rss_kb"); gen[key] = kv("gen_cpu_ms_msg")
	diff[key] = kv("spf_differ") "/" kv("dkim_differ") "/" kv("dmarc_differ")
	absent[key] = kv("spf_absent") "/" kv("dkim_absent") "/" kv("dmarc_absent")
	line[l] = $0
}
/^HOLD / { hold = $0 }
/^LOCK / { lockname = kv("symbol"); lockmax = kv("self") + 0 }
/^DKIMCOST median/ { dkimcost = substr($0, 10) }
/^E2E / {
	l = kv("label"); ne[l]++; ev[l, ne[l]] = kv("msgs_s") + 0; sent[l] = kv("sent") "/" kv("msgs")
	ecpu[l] = ecpu[l] (ecpu[l] == "" ? "" : ", ") kv("cpu_ms_msg")
	ebusy[l] = ebusy[l] (ebusy[l] == "" ? "" : ", ") kv("busy_pct")
}
/^E2EPERF / { # perf over the whole machine: ms of CPU per message by process
	l = kv("label"); c = kv("comm")
	if (c == "authtag" || c == "nullmilter" || c == "nullserver") c = "milter"
	else if (c != "cleanup" && c != "smtpd" && c != "smtp" && c != "qmgr") c = "other"
	pcpu[l, c] += kv("ms_msg"); pall[l] += kv("ms_msg")
}
END {
	# each Postfix setup: the median of its runs (insertion sort)
	for (l in ne) {
		for (i = 2; i <= ne[l]; i++)
			for (j = i; j > 1 && ev[l, j - 1] > ev[l, j]; j--) {
				t = ev[l, j]; ev[l, j] = ev[l, j - 1]; ev[l, j - 1] = t
			}
		e2e[l] = ev[l, int((ne[l] + 1) / 2)]
		runs[l] = ""
		for (i = 1; i <= ne[l]; i++) runs[l] = runs[l] (i > 1 ? ", " : "") ev[l, i]
	}
	printf "# authtag benchmark results\n\n%s; %s\n\n%s\n\n", date, machine, versions
	print "Corpus: mkcorpus (2,000 messages, fixed seed), unix sockets, one message per connection."
	print "CPU = utime+stime of the milter processes per message (/proc); p99 = closed loop, c clients."
	print "differ = spf/dkim/dmarc results that differ from the corpus index (absent: method not reported).\n"
	print "| setup | c | CPU ms/msg | msgs/s | p50 ms | p99 ms | differ | absent |"
	print "|---|---|---|---|---|---|---|---|"
	n = split("authtag.vs.chain chain authtag.vs.rspamd rspamd authtag.vs.dkimpy dkimpy authtag.vs.before authtag_before authtag.vs.norep authtag_norep authtag_signall null_o null_s null", S, " ")
	split("1 8 32", C, " ")
	for (i = 1; i <= n; i++) for (j = 1; j <= 3; j++) {
		k = S[i] SUBSEP C[j]
		if (k in cpu)
			printf "| %s | %s | %.3f | %.0f | %.2f | %.2f | %s | %s |\n", S[i], C[j], cpu[k], rate[k], p50[k], p99[k], diff[k], absent[k]
	}
	print "\n## authtag / peer, each pair measured back to back\n"
	print "| peer | c | authtag CPU ms | peer CPU ms | CPU ratio | msgs/s ratio |"
	print "|---|---|---|---|---|---|"
	split("chain rspamd dkimpy before norep", P, " ")
	for (i = 1; i <= 5; i++) for (j = 1; j <= 3; j++) {
		a = "authtag.vs." P[i] SUBSEP C[j]; b = (P[i] == "before" ? "authtag_before" : P[i] == "norep" ? "authtag_norep" : P[i]) SUBSEP C[j]
		if ((a in cpu) && (b in cpu) && cpu[b] > 0)
			printf "| %s | %s | %.3f | %.3f | %.2f | %.2f |\n", P[i], C[j], cpu[a], cpu[b], cpu[a] / cpu[b], (rate[b] > 0 ? rate[a] / rate[b] : 0)
	}
	if (dkimcost != "")
		print "\nDKIM verification alone (tests/bench/dkimcost, one thread) against the raw OpenSSL work of the same signatures: " dkimcost "\n"
	print "\n## DMARC report rows (issue 14): StateStore sqlite (default) vs none\n"
	for (j = 1; j <= 3; j++) {
		a = "authtag.vs.norep" SUBSEP C[j]; b = "authtag_norep" SUBSEP C[j]
		if ((a in cpu) && (b in cpu) && cpu[b] > 0)
			printf "- c=%s: reports on %.3f ms/msg, off %.3f ms/msg: %+.1f%% (aim <= +10%%)\n", C[j], cpu[a], cpu[b], 100 * (cpu[a] - cpu[b]) / cpu[b]
	}
	print "\n## the milter layer and signing\n"
	for (j = 1; j <= 3; j++) {
		a = "authtag.vs.chain" SUBSEP C[j]; b = "null_s" SUBSEP C[j]; o = "null_o" SUBSEP C[j]
		if ((a in cpu) && (b in cpu) && (o in cpu) && cpu[a] > 0)
			printf "- c=%s: a filter doing nothing with authtag\x27s steps: %.3f ms/msg on libmilter, %.3f on authtag\x27s own server (%.0f%% of it); authtag %.3f ms/msg, of which its milter layer is about %.0f%%\n", C[j], cpu[b], cpu[o], 100 * cpu[o] / cpu[b], cpu[a], 100 * cpu[o] / cpu[a]
		s = "authtag_signall" SUBSEP C[j]
		if ((a in cpu) && (s in cpu))
			printf "- c=%s: signing every message as well (RSA-2048): %.3f ms/msg, %+.3f over verifying only\n", C[j], cpu[s], cpu[s] - cpu[a]
	}
	print "\n## targets (issue 12), each with its verdict\n"
	# T1: CPU per message against each peer, results agreeing
	for (j = 1; j <= 3; j++) {
		a = "authtag.vs.chain" SUBSEP C[j]; b = "chain" SUBSEP C[j]
		r = "authtag.vs.rspamd" SUBSEP C[j]; q = "rspamd" SUBSEP C[j]
		if (!((a in cpu) && (b in cpu) && (r in cpu) && (q in cpu)) || cpu[b] <= 0 || cpu[q] <= 0)
			continue
		x = cpu[r] / cpu[q]; y = cpu[a] / cpu[b]
		agree = (diff[a] == "0/0/0" && diff[r] == "0/0/0")
		printf "- T1 c=%s: authtag %.3f ms/msg = %.2fx rspamd (aim <= 0.20), %.2fx the chain (aim <= 0.17); results %s: %s\n", C[j], cpu[r], x, y, (agree ? "agree" : "DIFFER " diff[a] " " diff[r]), ((x <= 0.20 && y <= 1 / 6 && agree) ? "MET" : "NOT MET")
	}
	if (("postfix-authtag" in e2e) && ("postfix-bare" in e2e) && e2e["postfix-bare"] > 0) {
		x = e2e["postfix-authtag"] / e2e["postfix-bare"]
		printf "- T2 Postfix end to end (medians of %d runs): with authtag %.1f%% of bare (aim >= 90%%), the chain %.1f%%: %s\n", ne["postfix-authtag"], 100 * x, 100 * e2e["postfix-chain"] / e2e["postfix-bare"], (x >= 0.90 ? "MET" : "NOT MET")
		if ("postfix-null-header" in e2e) {
			y = e2e["postfix-null-header"] / e2e["postfix-bare"]
			# the do-nothing filter is the ceiling of every tagging milter
			printf "  (a milter doing nothing but insert one header, on authtag\x27s server: %.1f%% of bare; authtag %.1f%% of it%s)\n", 100 * y, 100 * e2e["postfix-authtag"] / e2e["postfix-null-header"], (y < 0.90 ? ": the aim is above what Postfix allows any tagging milter on this machine" : "")
		}
	}
	a = "authtag.1core" SUBSEP 32; b = "authtag.2core" SUBSEP 32
	if ((a in rate) && (b in rate) && rate[a] > 0) {
		x = rate[b] / rate[a]
		# the generator shares the cores in the two-core run: a filter
		# that scaled perfectly (CPU per message as on one core) could
		# at most reach ncpu / (its CPU + the generator share) per message
		bound = (ncpu * 1000 / (cpu[a] + gen[b])) / rate[a]
		printf "- T3 two cores / one core (taskset, c=32, 10 messages per connection): %.0f / %.0f msgs/s = %.2fx (aim >= 1.8): %s; top lock in perf: %s (aim <= 5%%): %s\n", rate[b], rate[a], x, (x >= 1.8 ? "MET" : bound < 1.8 ? sprintf("NOT MEASURABLE HERE (with the generator on the same cores a filter that scaled perfectly would show %.2fx; authtag reached %.0f%% of that)", bound, 100 * x / bound) : "NOT MET"), (lockname == "" ? "none at 0.3% or more" : sprintf("%s %.2f%%", lockname, lockmax)), (lockmax <= 5 ? "MET" : "NOT MET")
		# the load generator runs on the same cores: what each used
		printf "  (cores busy: one-core run authtag %.2f + generator %.2f; two-core run authtag %.2f + generator %.2f, of %s; authtag\x27s CPU per message %.3f ms on one core, %.3f on two)\n", rate[a] * cpu[a] / 1000, rate[a] * gen[a] / 1000, rate[b] * cpu[b] / 1000, rate[b] * gen[b] / 1000, ncpu, cpu[a], cpu[b]
	}
	k = "authtag.open1000" SUBSEP 32
	if (k in p99) {
		printf "- T4 open loop, 1,000 msgs/s offered by 32 clients, %d messages: p99 %.2f ms, p50 %.2f (aim p99 <= 2 ms): %s; the chain %.2f ms", ok[k], p99[k], p50[k], (p99[k] <= 2 ? "MET" : "NOT MET"), p99["chain.open1000" SUBSEP 32]
		printf "; closed loop at c=1/8/32: p99 %.2f / %.2f / %.2f ms\n", p99["authtag.vs.chain" SUBSEP 1], p99["authtag.vs.chain" SUBSEP 8], p99["authtag.vs.chain" SUBSEP 32]
	}
	if (hold != "") {
		x = kv_of(hold, "authtag_hwm_kb") / 1024
		printf "- T5 1,000 connections each mid-message with a 10 MB body: RSS %.1f MB, peak %.1f MB (aim <= 100 MB): %s\n", kv_of(hold, "authtag_rss_kb") / 1024, x, (x <= 100 ? "MET" : "NOT MET")
	}
	a = "authtag.mem1m" SUBSEP 8; b = "authtag.mem2m" SUBSEP 8
	if ((a in rss) && (b in rss) && rss[a] > 0) {
		x = 100 * (rss[b] - rss[a]) / rss[a]
		printf "- T5 RSS after %d messages: %d kB; after %d more: %d kB (%+.1f%%, aim within 5%%): %s\n", ok[a] + ok["authtag.mem10k" SUBSEP 8], rss[a], ok[b], rss[b], x, (x <= 5 && x >= -5) ? "MET" : "NOT MET"
	}
	if (length(e2e) > 0) {
		print "\n## Postfix end to end (smtp-source -s 20 -> Postfix -> smtp-sink)\n"
		print "| setup | status=sent (last run) | msgs/s (median) | every run |"
		print "|---|---|---|---|"
		split("postfix-bare postfix-null-header postfix-authtag postfix-null-header-libmilter postfix-chain", E, " ")
		for (i = 1; i <= 5; i++) if (E[i] in e2e) printf "| %s | %s | %s | %s |\n", E[i], sent[E[i]], e2e[E[i]], runs[E[i]]
		print "\nThe machine\x27s CPU per message delivered (all processes, /proc/stat) and how busy its cores were, each run:\n"
		for (i = 1; i <= 5; i++) if (E[i] in e2e) printf "- %s: %s ms/msg; %s%% busy\n", E[i], ecpu[E[i]], ebusy[E[i]]
	}
	if (("perf.postfix-bare" in pall) && ("perf.postfix-authtag" in pall)) {
		print "\n## where Postfix end to end spends its CPU (perf over the whole machine, one run each, ms per message)\n"
		print "| process | bare | do-nothing filter + 1 header | authtag |"
		print "|---|---|---|---|"
		split("cleanup smtpd smtp qmgr milter other", PC, " ")
		for (i = 1; i <= 6; i++)
			printf "| %s | %.3f | %.3f | %.3f |\n", (PC[i] == "milter" ? "the milter" : PC[i]), pcpu["perf.postfix-bare", PC[i]], pcpu["perf.postfix-null-header", PC[i]], pcpu["perf.postfix-authtag", PC[i]]
		printf "| all | %.3f | %.3f | %.3f |\n", pall["perf.postfix-bare"], pall["perf.postfix-null-header"], pall["perf.postfix-authtag"]
		print "\n(perf-e2e-*.txt: cleanup and smtpd by function.)"
	}
	printf "\nGenerator ceiling (null milter, 100 messages per connection, c=8): %s msgs/s, generator CPU %s ms/msg\n", rate["null.m100" SUBSEP 8], gen["null.m100" SUBSEP 8]
}' >"$OUT/results.md"

# chart data: CPU ms/msg and msgs/s per setup at c=1, 8, 32
awk "$AWKLIB"'
/^RESULT / { l = kv("label"); c = kv("conc"); cpu[l, c] = kv("cpu_ms_msg"); rate[l, c] = kv("msgs_s") }
END {
	n = split("authtag.vs.chain:authtag authtag_signall:authtag-signing-all chain:opendkim+opendmarc rspamd:rspamd dkimpy:dkimpy-milter null_s:null-libmilter null_o:null-authtag-server", S, " ")
	print "# setup cpu1 cpu8 cpu32 rate1 rate8 rate32 (null-*: a filter taking authtag\x27s steps and doing nothing, on libmilter and on authtag\x27s server)"
	for (i = 1; i <= n; i++) {
		split(S[i], p, ":")
		printf "%s %s %s %s %s %s %s\n", p[2], cpu[p[1], 1] + 0, cpu[p[1], 8] + 0, cpu[p[1], 32] + 0, rate[p[1], 1] + 0, rate[p[1], 8] + 0, rate[p[1], 32] + 0
	}
}' "$RAW" >"$OUT/chart.dat"

if command -v gnuplot >/dev/null; then
	gnuplot <<EOF || echo "report: gnuplot failed" >&2
set terminal pngcairo size 1100,450 noenhanced
set output "$OUT/chart.png"
set multiplot layout 1,2 title "authtag vs peers ($(sed -n 's/^DATE //p' "$RAW" | head -1))"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set xtics rotate by -20
set grid ytics
set title "CPU ms per message (lower is better)"
plot "$OUT/chart.dat" using 2:xtic(1) title "c=1", "" using 3 title "c=8", "" using 4 title "c=32"
set title "messages per second (higher is better; log scale)"
set logscale y
set yrange [100:*]
plot "$OUT/chart.dat" using 5:xtic(1) title "c=1", "" using 6 title "c=8", "" using 7 title "c=32"
unset multiplot
EOF
fi

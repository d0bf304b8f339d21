/*
 * mgstats.c - counting, /proc sampling and the RESULT line of miltergen
 *
 * Results are judged per message: the first spf= and dmarc= value and the
 * best dkim= value (pass > fail > any other > none) of all the A-R headers
 * the chain returned, against the index's expectation. CPU is utime+stime
 * of /proc/PID/stat, which includes the process's exited threads (one per
 * connection under libmilter), summed over the PID and its descendants
 * (rspamd's workers); memory is VmRSS and VmHWM from /proc/PID/status.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mgstats.h"

static const char *const mgs_method[MGS_NMETHODS] = {"spf", "dkim", "dmarc"};

/* dkim_rank - order of dkim results: the best signature wins */
static int
dkim_rank(const char *r)
{
	if (strcasecmp(r, "pass") == 0)
		return 4;
	if (strcasecmp(r, "fail") == 0)
		return 3;
	if (strcasecmp(r, "none") == 0)
		return 1;
	return 2;
}

/* mgs_msg_start - forget the previous message's results */
void
mgs_msg_start(struct mgs_msg *m)
{
	memset(m, 0, sizeof *m);
}

/* mgs_count_ar - count one method=result and remember it for the message */
void
mgs_count_ar(struct mgs_counts *c, struct mgs_msg *m, const char *method,
	     const char *result)
{
	char key[48];
	int i;

	snprintf(key, sizeof key, "%s=%s", method, result);
	for (char *p = key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (i = 0; i < c->nar; i++)
		if (strcmp(c->ar[i].key, key) == 0)
			break;
	if (i == c->nar && c->nar < MGS_MAXAR)
		snprintf(c->ar[c->nar++].key, sizeof c->ar[0].key, "%s", key);
	if (i < c->nar)
		c->ar[i].n++;
	for (int k = 0; k < MGS_NMETHODS; k++) {
		if (strcasecmp(method, mgs_method[k]) != 0)
			continue;
		if (k == MGS_DKIM && m->res[k][0] &&
		    dkim_rank(result) <= m->dkim_rank)
			continue;
		if (k != MGS_DKIM && m->res[k][0])
			continue;
		snprintf(m->res[k], sizeof m->res[k], "%s", result);
		if (k == MGS_DKIM)
			m->dkim_rank = dkim_rank(result);
	}
}

/* mgs_msg_end - compare one message's results with the expectation */
void
mgs_msg_end(struct mgs_counts *c, const struct mgs_msg *m,
	    const char *const *expect, const char *file)
{
	bool differs = false;

	for (int k = 0; k < MGS_NMETHODS; k++) {
		if (expect[k] == NULL)
			continue;
		if (m->res[k][0] == '\0')
			c->absent[k]++;
		else if (strcasecmp(m->res[k], expect[k]) == 0)
			c->agree[k]++;
		else {
			c->differ[k]++;
			differs = true;
		}
	}
	if (differs && c->nex < MGS_MAXEX)
		snprintf(c->ex[c->nex++], sizeof c->ex[0],
			 "%s want spf=%s dkim=%s dmarc=%s got spf=%s dkim=%s "
			 "dmarc=%s",
			 file, expect[0] ? expect[0] : "-",
			 expect[1] ? expect[1] : "-",
			 expect[2] ? expect[2] : "-", m->res[0], m->res[1],
			 m->res[2]);
}

/* mgs_merge - add one client's counters to the run's */
void
mgs_merge(struct mgs_counts *to, const struct mgs_counts *from)
{
	to->ok += from->ok;
	to->errors += from->errors;
	to->rejected += from->rejected;
	for (int i = 0; i < from->nar; i++) {
		int j;

		for (j = 0; j < to->nar; j++)
			if (strcmp(to->ar[j].key, from->ar[i].key) == 0)
				break;
		if (j == to->nar && to->nar < MGS_MAXAR)
			memcpy(to->ar[to->nar++].key, from->ar[i].key,
			       sizeof to->ar[0].key);
		if (j < to->nar)
			to->ar[j].n += from->ar[i].n;
	}
	for (int k = 0; k < MGS_NMETHODS; k++) {
		to->agree[k] += from->agree[k];
		to->differ[k] += from->differ[k];
		to->absent[k] += from->absent[k];
	}
	for (int i = 0; i < from->nex && to->nex < MGS_MAXEX; i++)
		memcpy(to->ex[to->nex++], from->ex[i], sizeof to->ex[0]);
}

/* mgs_pids_add - "-P NAME=PID" or "-P PID" */
int
mgs_pids_add(struct mgs_pids *p, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (p->n == MGS_MAXPIDS)
		return -1;
	if (eq != NULL)
		snprintf(p->name[p->n], sizeof p->name[0], "%.*s",
			 (int)(eq - arg), arg);
	else
		snprintf(p->name[p->n], sizeof p->name[0], "milter%d", p->n);
	p->pid[p->n] = (pid_t)atol(eq ? eq + 1 : arg);
	if (p->pid[p->n] <= 0)
		return -1;
	p->n++;
	return 0;
}

/* stat_of - utime+stime (seconds) and parent of one process */
static int
stat_of(pid_t pid, double *cpu, pid_t *ppid)
{
	char path[64], buf[1024];

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);

	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	unsigned long ut, st;
	int pp;

	if (p == NULL ||
	    sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &pp, &ut, &st) != 3)
		return -1;
	*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	*ppid = pp;
	return 0;
}

/* status_kb - one "Vm...:" line of /proc/PID/status, in kB */
static long
status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long v = 0;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key));
	fclose(f);
	return v;
}

/* in_tree - is pid the root or one of its descendants? (ppid table) */
static int
in_tree(pid_t pid, pid_t root, const pid_t *pids, const pid_t *ppids, int n)
{
	for (int depth = 0; depth < 16 && pid > 1; depth++) {
		if (pid == root)
			return 1;
		int i;

		for (i = 0; i < n && pids[i] != pid; i++)
			;
		if (i == n)
			return 0;
		pid = ppids[i];
	}
	return 0;
}

/* mgs_pids_sample - CPU (and at the end memory) of every process tree */
void
mgs_pids_sample(struct mgs_pids *p, int when)
{
	enum { MAXP = 8192 };
	static pid_t pids[MAXP], ppids[MAXP];
	static double cpus[MAXP];
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (p->n == 0 || d == NULL) {
		if (d != NULL)
			closedir(d);
		return;
	}
	while ((de = readdir(d)) != NULL && n < MAXP) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pids[n] = (pid_t)atol(de->d_name);
		if (stat_of(pids[n], &cpus[n], &ppids[n]) == 0)
			n++;
	}
	closedir(d);
	for (int k = 0; k < p->n; k++) {
		p->cpu[when][k] = 0;
		p->rss[k] = p->hwm[k] = p->nproc[k] = 0;
		for (int i = 0; i < n; i++) {
			if (!in_tree(pids[i], p->pid[k], pids, ppids, n))
				continue;
			p->cpu[when][k] += cpus[i];
			p->rss[k] += status_kb(pids[i], "VmRSS:");
			p->hwm[k] += status_kb(pids[i], "VmHWM:");
			p->nproc[k]++;
		}
	}
}

/* mgs_pids_report - one line of the memory of each process tree now */
void
mgs_pids_report(struct mgs_pids *p, const char *tag, long held)
{
	mgs_pids_sample(p, 1);
	printf("%s clients_held=%ld", tag, held);
	for (int k = 0; k < p->n; k++)
		printf(" %s_rss_kb=%ld %s_hwm_kb=%ld", p->name[k], p->rss[k],
		       p->name[k], p->hwm[k]);
	printf("\n");
	fflush(stdout);
}

/* cmp_double - qsort order */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* pct - the q-quantile of n sorted values, in ms */
static double
pct(const double *v, long n, double q)
{
	if (n == 0)
		return 0;
	long i = (long)(q * (double)n);

	if (i >= n)
		i = n - 1;
	return v[i] * 1000;
}

/* mgs_report - print the RESULT line and the detail lines */
void
mgs_report(const struct mgs_counts *c, struct mgs_pids *p, const char *label,
	   long conc, long per_conn, double *lat, long total, double secs,
	   double gen_cpu, bool verbose)
{
	long n = 0;
	double cpu = 0;
	long rss = 0, hwm = 0;

	for (long i = 0; i < total; i++)
		if (lat[i] >= 0)
			lat[n++] = lat[i];
	qsort(lat, (size_t)n, sizeof *lat, cmp_double);
	for (int k = 0; k < p->n; k++) {
		cpu += p->cpu[1][k] - p->cpu[0][k];
		rss += p->rss[k];
		hwm += p->hwm[k];
	}
	printf("RESULT label=%s conc=%ld per_conn=%ld ok=%ld errors=%ld "
	       "rejected=%ld secs=%.3f msgs_s=%.1f p50_ms=%.3f p99_ms=%.3f "
	       "p999_ms=%.3f cpu_ms_msg=%.4f rss_kb=%ld hwm_kb=%ld "
	       "gen_cpu_ms_msg=%.4f",
	       label, conc, per_conn, c->ok, c->errors, c->rejected, secs,
	       secs > 0 ? (double)c->ok / secs : 0, pct(lat, n, 0.5),
	       pct(lat, n, 0.99), pct(lat, n, 0.999),
	       c->ok ? cpu * 1000 / (double)c->ok : 0, rss, hwm,
	       c->ok ? gen_cpu * 1000 / (double)c->ok : 0);
	for (int k = 0; k < MGS_NMETHODS; k++)
		printf(" %s_agree=%ld %s_differ=%ld %s_absent=%ld",
		       mgs_method[k], c->agree[k], mgs_method[k], c->differ[k],
		       mgs_method[k], c->absent[k]);
	printf("\n");
	for (int k = 0; k < p->n; k++)
		printf("PROC label=%s name=%s procs=%ld cpu_ms_msg=%.4f "
		       "rss_kb=%ld hwm_kb=%ld\n",
		       label, p->name[k], p->nproc[k],
		       c->ok ? (p->cpu[1][k] - p->cpu[0][k]) * 1000 /
				   (double)c->ok
			     : 0,
		       p->rss[k], p->hwm[k]);
	printf("AR label=%s", label);
	for (int i = 0; i < c->nar; i++)
		printf(" %s:%ld", c->ar[i].key, c->ar[i].n);
	printf("\n");
	if (verbose)
		for (int i = 0; i < c->nex; i++)
			printf("DIFF %s\n", c->ex[i]);
	fflush(stdout);
}

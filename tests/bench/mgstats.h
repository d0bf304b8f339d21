/*
 * mgstats.h - what the load generator counts and how it reports it
 *
 * Counters of one client (merged at the end), the Authentication-Results
 * values seen per message compared with the corpus' expectations, the
 * CPU and memory of the milter processes under test (from /proc), and the
 * one-line RESULT report the benchmark scripts parse.
 */
#ifndef AUTHTAG_BENCH_MGSTATS_H
#define AUTHTAG_BENCH_MGSTATS_H

#include <stdbool.h>
#include <sys/types.h>

enum { MGS_SPF, MGS_DKIM, MGS_DMARC, MGS_NMETHODS };

#define MGS_MAXAR   96 /* distinct method=result pairs counted */
#define MGS_MAXEX   50 /* differing messages listed with -v */
#define MGS_MAXPIDS 8

/* mgs_counts - counters of one client, or of the whole run */
struct mgs_counts {
	long ok, errors, rejected;
	struct {
		char key[48];
		long n;
	} ar[MGS_MAXAR];
	int nar;
	long agree[MGS_NMETHODS], differ[MGS_NMETHODS], absent[MGS_NMETHODS];
	char ex[MGS_MAXEX][200];
	int nex;
};

/* mgs_msg - the results one message got back */
struct mgs_msg {
	char res[MGS_NMETHODS][24];
	int dkim_rank;
};

/* mgs_pids - processes under test: each a PID and all its descendants */
struct mgs_pids {
	int n;
	char name[MGS_MAXPIDS][32];
	pid_t pid[MGS_MAXPIDS];
	double cpu[2][MGS_MAXPIDS]; /* seconds at start and end */
	long rss[MGS_MAXPIDS], hwm[MGS_MAXPIDS], nproc[MGS_MAXPIDS];
};

void mgs_msg_start(struct mgs_msg *m);
void mgs_count_ar(struct mgs_counts *c, struct mgs_msg *m, const char *method,
		  const char *result);
void mgs_msg_end(struct mgs_counts *c, const struct mgs_msg *m,
		 const char *const *expect, const char *file);
void mgs_merge(struct mgs_counts *to, const struct mgs_counts *from);
int mgs_pids_add(struct mgs_pids *p, const char *arg);
void mgs_pids_sample(struct mgs_pids *p, int when);
void mgs_pids_report(struct mgs_pids *p, const char *tag, long held);
void mgs_report(const struct mgs_counts *c, struct mgs_pids *p,
		const char *label, long conc, long per_conn, double *lat,
		long total, double secs, double gen_cpu, bool verbose);

#endif

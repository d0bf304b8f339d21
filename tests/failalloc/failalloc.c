/*
 * failalloc.c - an LD_PRELOAD allocator that fails on demand (tests only)
 *
 * Makes malloc, calloc, realloc, reallocarray, strdup's and asprintf's
 * allocations (glibc routes them all through malloc/realloc) fail, to
 * test authtag's error paths as memory pressure would hit them:
 *
 *   FAILALLOC_N=K      fail the K-th counted allocation (0: count only)
 *   FAILALLOC_AFTER=1  fail the K-th and every later one
 *   FAILALLOC_ARM=PATH start counting when PATH is fopen()ed (authtag-check
 *                      opens the message after its set-up); ARM=accept
 *                      starts at the first accept() and counts only
 *                      threads other than the one that called it (a
 *                      daemon with a thread per connection), or at the
 *                      first accept4() and counts every thread (the
 *                      authtag daemon: any worker may serve any
 *                      connection, the one that accepted included)
 *   FAILALLOC_NFILE=F  with ARM=accept: at every accepted connection, the
 *                      count starts again from 0 and N is read from F, and
 *                      the previous connection's count goes to
 *                      FAILALLOC_REPORT (one daemon, one N per connection)
 *   FAILALLOC_SAME_THREAD=1 with a path: count only in the thread that
 *                      opened it (authtag-check's own code, not the
 *                      resolver's threads)
 *   FAILALLOC_TRAP=1   raise SIGTRAP at the failing call (run under gdb)
 *   FAILALLOC_REPORT=F write the number of counted allocations to F at exit
 *
 * The real allocator is found with dlsym(RTLD_NEXT); the calloc that
 * dlsym itself makes before that is served from a small static arena.
 *
 * Allocations made directly by libunbound or by the dynamic loader are
 * counted but never failed: libunbound 1.17 dereferences NULL inside
 * ub_resolve_async() when one of its own allocations fails, and
 * ub_ctx_delete() calls pthread_kill() on a thread it failed to create
 * (the loader's thread-local storage allocation failed); glibc aborts
 * itself when the loader's fails ("cannot allocate memory for
 * thread-local data"). Crashes no caller can prevent (seen with this
 * shim); everything else, authtag's code and the other libraries, fails
 * as asked.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *(*fa_real_malloc)(size_t);
static void *(*fa_real_calloc)(size_t, size_t);
static void *(*fa_real_realloc)(void *, size_t);
static void (*fa_real_free)(void *);
static FILE *(*fa_real_fopen)(const char *, const char *);
static int (*fa_real_accept)(int, struct sockaddr *, socklen_t *);
static int (*fa_real_accept4)(int, struct sockaddr *, socklen_t *, int);

static _Alignas(16) char fa_arena[8192];
static size_t fa_arena_used;
static atomic_int fa_initing;

static atomic_long fa_count;
static long fa_fail_at;
static int fa_after;
static atomic_int fa_armed;
static int fa_thread_only; /* 1: not the arming thread; 2: only it */
static pthread_t fa_arm_thread;

/* fa_init - find the real functions */
static void
fa_init(void)
{
	if (fa_real_malloc != NULL || atomic_exchange(&fa_initing, 1))
		return;
	fa_real_calloc = dlsym(RTLD_NEXT, "calloc");
	fa_real_malloc = dlsym(RTLD_NEXT, "malloc");
	fa_real_realloc = dlsym(RTLD_NEXT, "realloc");
	fa_real_free = dlsym(RTLD_NEXT, "free");
	fa_real_fopen = dlsym(RTLD_NEXT, "fopen");
	fa_real_accept = dlsym(RTLD_NEXT, "accept");
	fa_real_accept4 = dlsym(RTLD_NEXT, "accept4");
	atomic_store(&fa_initing, 0);
}

/* fa_env - read the environment once the C library has set it up: an
 * ASan runtime allocates before that, and those calls are not counted */
__attribute__((constructor)) static void
fa_env(void)
{
	const char *n, *arm;

	fa_init();
	n = getenv("FAILALLOC_N");
	fa_fail_at = n != NULL ? atol(n) : 0;
	fa_after = getenv("FAILALLOC_AFTER") != NULL;
	arm = getenv("FAILALLOC_ARM");
	if (arm == NULL || *arm == '\0')
		atomic_store(&fa_armed, 1);
}

/* fa_exempt - was the allocation asked for by libunbound or ld.so? */
static int
fa_exempt(const void *caller)
{
	Dl_info info;

	return caller != NULL && dladdr(caller, &info) != 0 &&
	       info.dli_fname != NULL &&
	       (strstr(info.dli_fname, "libunbound") != NULL ||
		strstr(info.dli_fname, "ld-linux") != NULL);
}

/* fa_fail - count one allocation; should it fail? */
#define fa_fail() fa_fail_from(__builtin_return_address(0))
static int
fa_fail_from(const void *caller)
{
	long c;

	if (!atomic_load(&fa_armed))
		return 0;
	if (fa_thread_only == 1 &&
	    pthread_equal(pthread_self(), fa_arm_thread))
		return 0;
	if (fa_thread_only == 2 &&
	    !pthread_equal(pthread_self(), fa_arm_thread))
		return 0;
	c = atomic_fetch_add(&fa_count, 1) + 1;
	if (fa_fail_at <= 0)
		return 0;
	if ((fa_after ? c >= fa_fail_at : c == fa_fail_at) &&
	    !fa_exempt(caller)) {
		if (getenv("FAILALLOC_TRAP") != NULL) /* for gdb: where? */
			raise(SIGTRAP);
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

/* fa_in_arena - was p served from the start-up arena? */
static int
fa_in_arena(const void *p)
{
	return (const char *)p >= fa_arena &&
	       (const char *)p < fa_arena + sizeof(fa_arena);
}

void *
malloc(size_t n)
{
	fa_init();
	if (fa_real_malloc == NULL || fa_fail())
		return NULL;
	return fa_real_malloc(n);
}

void *
calloc(size_t n, size_t sz)
{
	if (fa_real_calloc == NULL) {
		/* dlsym's own calloc, before the real one is known */
		size_t need = (n * sz + 15) & ~(size_t)15;

		if (atomic_load(&fa_initing) &&
		    fa_arena_used + need <= sizeof(fa_arena)) {
			void *p = fa_arena + fa_arena_used;

			fa_arena_used += need;
			return p;
		}
		fa_init();
		if (fa_real_calloc == NULL)
			return NULL;
	}
	if (fa_fail())
		return NULL;
	return fa_real_calloc(n, sz);
}

void *
realloc(void *p, size_t n)
{
	fa_init();
	if (fa_in_arena(p))
		return NULL;
	if (fa_real_realloc == NULL || fa_fail())
		return NULL;
	return fa_real_realloc(p, n);
}

void *
reallocarray(void *p, size_t n, size_t sz)
{
	if (sz != 0 && n > (size_t)-1 / sz) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * sz);
}

void
free(void *p)
{
	if (p == NULL || fa_in_arena(p))
		return;
	fa_init();
	if (fa_real_free != NULL)
		fa_real_free(p);
}

FILE *
fopen(const char *path, const char *mode)
{
	const char *arm;

	fa_init();
	arm = getenv("FAILALLOC_ARM");
	if (arm != NULL && path != NULL && strcmp(arm, path) == 0 &&
	    !atomic_load(&fa_armed)) {
		fa_arm_thread = pthread_self();
		if (getenv("FAILALLOC_SAME_THREAD") != NULL)
			fa_thread_only = 2;
		atomic_store(&fa_armed, 1);
	}
	return fa_real_fopen(path, mode);
}

/* fa_next_connection - report the last connection's count, read N */
static void
fa_next_connection(void)
{
	const char *nfile = getenv("FAILALLOC_NFILE");
	const char *report = getenv("FAILALLOC_REPORT");
	char buf[32];
	ssize_t n;
	int fd;

	if (report != NULL &&
	    (fd = open(report, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
		n = snprintf(buf, sizeof(buf), "%ld\n", atomic_load(&fa_count));
		if (write(fd, buf, (size_t)n) < 0)
			n = 0;
		close(fd);
	}
	if (nfile != NULL && (fd = open(nfile, O_RDONLY)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
		fa_fail_at = atol(buf);
	}
	atomic_store(&fa_count, 0);
}

int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	const char *arm;
	int rc;

	fa_init();
	rc = fa_real_accept(fd, sa, len);
	arm = getenv("FAILALLOC_ARM");
	if (rc >= 0 && arm != NULL && strcmp(arm, "accept") == 0) {
		fa_arm_thread = pthread_self();
		fa_thread_only = 1;
		if (getenv("FAILALLOC_NFILE") != NULL)
			fa_next_connection();
		atomic_store(&fa_armed, 1);
	}
	return rc;
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	const char *arm;
	int rc;

	fa_init();
	rc = fa_real_accept4(fd, sa, len, flags);
	arm = getenv("FAILALLOC_ARM");
	if (rc >= 0 && arm != NULL && strcmp(arm, "accept") == 0) {
		fa_thread_only = 0;
		if (getenv("FAILALLOC_NFILE") != NULL)
			fa_next_connection();
		atomic_store(&fa_armed, 1);
	}
	return rc;
}

/* fa_report - write the count where FAILALLOC_REPORT says, at exit */
__attribute__((destructor)) static void
fa_report(void)
{
	const char *f = getenv("FAILALLOC_REPORT");
	FILE *fp;

	if (f == NULL || fa_real_fopen == NULL)
		return;
	if ((fp = fa_real_fopen(f, "w")) != NULL) {
		fprintf(fp, "%ld\n", atomic_load(&fa_count));
		fclose(fp);
	}
}

/*
 * userprefs_cache.c - find a recipient's user_prefs file and keep it parsed
 *
 * Owns the UserPrefs path template (%u, %d, ~user), the home-directory
 * look-up (cached for a minute: getpwnam goes through NSS) and the cache
 * of parsed files. The cache maps a path to the prefs parsed from one
 * version of the file (inode, size, mtime); a changed file is parsed
 * again without the lock held, and prefs are reference counted so that a
 * thread still scoring with the old version is never left with freed
 * memory.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "score.h"
#include "userprefs_int.h"

#define UP_FILE_MAX (1u << 20) /* a user_prefs file is read up to 1 MiB */

struct up_cached {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct userprefs *prefs;
	unsigned long used; /* for evicting the least recently used */
};

/* a user's home directory as the password database gave it, or none */
struct up_home {
	char *name;
	char *dir; /* NULL: no such user */
	time_t expires;
};

#define UP_HOME_TTL                                                            \
	60 /* seconds a home directory (or its absence) is                     \
	      trusted: getpwnam goes through NSS, which can                    \
	      open files or ask a daemon for every call */
#define UP_HOME_MAX 1024

struct userprefs_cache {
	pthread_mutex_t lock;
	struct up_cached *files;
	size_t nfiles, max;
	unsigned long clock;
	struct up_home *homes;
	size_t nhomes;
};

/* userprefs_expand_template - expand %u, %d and %% */
int
userprefs_expand_template(const char *tmpl, const char *user, const char *domain,
		      char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = tmpl; *p; p++) {
		const char *add = NULL;
		char one[2] = {*p, '\0'};

		if (*p == '%' && p[1] == 'u')
			add = user;
		else if (*p == '%' && p[1] == 'd')
			add = domain;
		else if (*p == '%' && p[1] == '%')
			add = "%";
		if (add != NULL)
			p++;
		else
			add = one;
		if (o + strlen(add) >= outlen)
			return -1;
		memcpy(out + o, add, strlen(add));
		o += strlen(add);
	}
	out[o] = '\0';
	return 0;
}

/*
 * up_home_lookup - name's home directory into dir (via the cache when c
 * is not NULL); 0, or -1 when there is no such user or it does not fit
 */
static int
up_home_lookup(struct userprefs_cache *c, const char *name, char *dir,
	       size_t dirlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	struct up_home *h = NULL;
	struct timespec now;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (c != NULL) {
		pthread_mutex_lock(&c->lock);
		for (size_t i = 0; i < c->nhomes; i++)
			if (strcmp(c->homes[i].name, name) == 0 &&
			    c->homes[i].expires > now.tv_sec) {
				h = &c->homes[i];
				rc = h->dir != NULL && strlen(h->dir) < dirlen
					 ? (snprintf(dir, dirlen, "%s", h->dir), 0)
					 : -1;
				break;
			}
		pthread_mutex_unlock(&c->lock);
		if (h != NULL)
			return rc;
	}
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    pw.pw_dir != NULL && strlen(pw.pw_dir) < dirlen) {
		snprintf(dir, dirlen, "%s", pw.pw_dir);
		rc = 0;
	}
	if (c == NULL)
		return rc;
	pthread_mutex_lock(&c->lock);
	/* a full table is simply emptied: it is only a cache */
	if (c->nhomes == UP_HOME_MAX) {
		for (size_t i = 0; i < c->nhomes; i++) {
			free(c->homes[i].name);
			free(c->homes[i].dir);
		}
		c->nhomes = 0;
	}
	if (c->homes == NULL)
		c->homes = calloc(UP_HOME_MAX, sizeof(*c->homes));
	if (c->homes != NULL) {
		h = &c->homes[c->nhomes];
		h->name = strdup(name);
		h->dir = rc == 0 ? strdup(dir) : NULL;
		h->expires = now.tv_sec + UP_HOME_TTL;
		if (h->name != NULL && (rc != 0 || h->dir != NULL))
			c->nhomes++;
		else {
			free(h->name);
			free(h->dir);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* userprefs_path - expand a UserPrefs template for one user */
int
userprefs_path(struct userprefs_cache *c, const char *tmpl, const char *user,
	       const char *domain, char *out, size_t outlen)
{
	char exp[4096], *rest, name[256], home[4096];
	size_t nlen;

	if (tmpl == NULL || *tmpl == '\0' ||
	    userprefs_expand_template(tmpl, user, domain, exp, sizeof(exp)) != 0)
		return -1;
	if (exp[0] != '~') {
		if (snprintf(out, outlen, "%s", exp) >= (int)outlen)
			return -1;
		return 0;
	}
	rest = exp + 1 + strcspn(exp + 1, "/");
	nlen = (size_t)(rest - exp - 1);
	if (nlen == 0 || nlen >= sizeof(name))
		return -1;
	memcpy(name, exp + 1, nlen);
	name[nlen] = '\0';
	if (up_home_lookup(c, name, home, sizeof(home)) != 0 ||
	    snprintf(out, outlen, "%s%s", home, rest) >= (int)outlen)
		return -1;
	return 0;
}

/* userprefs_cache_new - an empty cache of at most max files */
struct userprefs_cache *
userprefs_cache_new(size_t max)
{
	struct userprefs_cache *c = calloc(1, sizeof(*c));
	struct passwd pw, *res;
	char buf[1024];

	/* glibc loads its NSS configuration at the first getpwnam_r and
	 * crashes there (2.36: an assertion or a NULL dereference) when an
	 * allocation fails: make that first look-up now, at start-up, not
	 * in the middle of a message */
	(void)getpwnam_r("root", &pw, buf, sizeof(buf), &res);
	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->max = max > 0 ? max : 1;
	return c;
}

/* up_unref - drop one reference; the caller holds the lock */
static void
up_unref(struct userprefs *p)
{
	if (p != NULL && --p->refs == 0)
		userprefs_free(p);
}

/* userprefs_cache_free - free the cache */
void
userprefs_cache_free(struct userprefs_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].path);
		up_unref(c->files[i].prefs);
	}
	free(c->files);
	for (size_t i = 0; i < c->nhomes; i++) {
		free(c->homes[i].name);
		free(c->homes[i].dir);
	}
	free(c->homes);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* up_read - parse the file open on fd (st from fstat); NULL on failure */
static struct userprefs *
up_read(int fd, const struct stat *st)
{
	size_t want = st->st_size > (off_t)UP_FILE_MAX ? UP_FILE_MAX
						       : (size_t)st->st_size;
	char *text = malloc(want + 1);
	struct userprefs *p = NULL;
	size_t got = 0;

	if (text == NULL)
		return NULL;
	while (got < want) {
		ssize_t r = read(fd, text + got, want - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == want)
		p = userprefs_parse(text, got);
	free(text);
	return p;
}

/* up_same - is the cached version the file that st describes? */
static bool
up_same(const struct up_cached *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino &&
	       f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec &&
	       f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* up_store - put fresh prefs in the cache; the caller holds the lock */
static void
up_store(struct userprefs_cache *c, const char *path, const struct stat *st,
	 struct userprefs *p)
{
	struct up_cached *f = NULL;

	for (size_t i = 0; i < c->nfiles && f == NULL; i++)
		if (strcmp(c->files[i].path, path) == 0)
			f = &c->files[i];
	if (f == NULL && c->nfiles < c->max) {
		struct up_cached *grown =
		    realloc(c->files, (c->nfiles + 1) * sizeof(*grown));
		char *copy = strdup(path);

		if (grown != NULL)
			c->files = grown;
		if (grown == NULL || copy == NULL) {
			free(copy);
			return; /* not cached: only slower */
		}
		f = &c->files[c->nfiles++];
		memset(f, 0, sizeof(*f));
		f->path = copy;
	} else if (f == NULL) {
		char *copy = strdup(path);
		size_t lru = 0;

		if (copy == NULL)
			return;
		for (size_t i = 1; i < c->nfiles; i++)
			if (c->files[i].used < c->files[lru].used)
				lru = i;
		f = &c->files[lru];
		free(f->path);
		f->path = copy;
	} else {
		/* same path, new version */
	}
	up_unref(f->prefs);
	f->prefs = p;
	p->refs++;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->used = ++c->clock;
}

/* userprefs_get - the prefs in the file at path, cached */
const struct userprefs *
userprefs_get(struct userprefs_cache *c, const char *path)
{
	struct userprefs *p = NULL;
	struct stat st;
	int fd;

	if (c == NULL || path == NULL || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return NULL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i].path, path) == 0 &&
		    up_same(&c->files[i], &st)) {
			p = c->files[i].prefs;
			p->refs++;
			c->files[i].used = ++c->clock;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (p != NULL)
		return p;

	/* read and parse with no lock held: other users go on meanwhile */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (p = up_read(fd, &st)) == NULL) {
		close(fd);
		return NULL;
	}
	close(fd);
	pthread_mutex_lock(&c->lock);
	p->refs = 1; /* the caller's */
	up_store(c, path, &st, p);
	pthread_mutex_unlock(&c->lock);
	return p;
}

/* userprefs_release - drop a reference taken by userprefs_get */
void
userprefs_release(struct userprefs_cache *c, const struct userprefs *p)
{
	if (c == NULL || p == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	/* the cache handed out this pointer; it is ours to count */
	up_unref((struct userprefs *)p);
	pthread_mutex_unlock(&c->lock);
}

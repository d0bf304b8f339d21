/*
 * authtag-check.c - run authtag's checks on one message file
 *
 * Reads a message (RFC 5322, LF or CRLF line ends) from a file or stdin,
 * feeds it through lib/engine exactly as the milter does (connect, HELO,
 * MAIL, RCPT, each header, body chunks, end of message) and prints the
 * header fields the milter would add, then one "# remove: Name[N]" line
 * per header it would remove, then the action when it is not accept
 * ("# reject: 550 5.7.1 text", "# quarantine: reason", "# tempfail: 451
 * 4.3.0 text"), and "# signed: d:s" or "# signed: no(why)" when the
 * message was ours to sign. Prepending the header lines to the message and applying
 * the removals gives the message the milter passes on. Exit 0 when it
 * ran, 1 when the message could not be read or memory ran out (a
 * tempfail line is printed then), 2 for usage or configuration errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "config.h"
#include "engine.h"

#define CHECK_BODY_CHUNK 65536

struct check_args {
	const char *config_path;
	const char *client_ip;
	const char *helo;
	const char *mail_from;
	const char *auth_user;
	const char *client_name;
	bool local;
	bool explain;
	const char **rcpts;
	size_t nrcpts;
	const char *file;
};

/* check_usage - print the synopsis to fp */
static void
check_usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: authtag-check [-c CONFIG] [--client-ip IP] [--helo NAME]\n"
	    "                     [--mail-from ADDR] [--rcpt ADDR]... "
	    "[--auth-user USER]\n"
	    "                     [--client-name HOST] [--local] [--explain] "
	    "[FILE]\n"
	    "Prints the headers authtag would add to the message in FILE "
	    "(or stdin).\n");
}

/* check_parse_args - fill args from argv; 0, 1 (help shown) or -1 */
static int
check_parse_args(int argc, char **argv, struct check_args *args)
{
	enum {
		OPT_IP = 256,
		OPT_HELO,
		OPT_FROM,
		OPT_RCPT,
		OPT_AUTH,
		OPT_NAME,
		OPT_LOCAL,
		OPT_EXPLAIN
	};
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"client-ip", required_argument, NULL, OPT_IP},
	    {"helo", required_argument, NULL, OPT_HELO},
	    {"mail-from", required_argument, NULL, OPT_FROM},
	    {"rcpt", required_argument, NULL, OPT_RCPT},
	    {"auth-user", required_argument, NULL, OPT_AUTH},
	    {"client-name", required_argument, NULL, OPT_NAME},
	    {"local", no_argument, NULL, OPT_LOCAL},
	    {"explain", no_argument, NULL, OPT_EXPLAIN},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	args->rcpts = calloc((size_t)argc, sizeof(*args->rcpts));
	if (args->rcpts == NULL)
		return -1;
	while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			args->config_path = optarg;
			break;
		case OPT_IP:
			args->client_ip = optarg;
			break;
		case OPT_HELO:
			args->helo = optarg;
			break;
		case OPT_FROM:
			args->mail_from = optarg;
			break;
		case OPT_RCPT:
			args->rcpts[args->nrcpts++] = optarg;
			break;
		case OPT_AUTH:
			args->auth_user = optarg;
			break;
		case OPT_NAME:
			args->client_name = optarg;
			break;
		case OPT_LOCAL:
			args->local = true;
			break;
		case OPT_EXPLAIN:
			args->explain = true;
			break;
		case 'h':
			check_usage(stdout);
			return 1;
		case 'V':
			printf("authtag-check %s\n", PACKAGE_VERSION);
			return 1;
		default:
			check_usage(stderr);
			return -1;
		}
	}
	if (argc - optind > 1) {
		check_usage(stderr);
		return -1;
	}
	if (optind < argc && strcmp(argv[optind], "-") != 0)
		args->file = argv[optind];
	return 0;
}

/* check_load_config - -c FILE, else the default file if present */
static struct config *
check_load_config(const char *path)
{
	struct config *cfg = NULL;
	char err[512];

	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) != 0)
		return config_new_defaults();
	if (config_load(path ? path : CONFIG_DEFAULT_PATH, &cfg, err,
			sizeof(err)) != 0) {
		fprintf(stderr, "authtag-check: %s\n", err);
		return NULL;
	}
	return cfg;
}

/* check_chomp - drop a final LF or CRLF; returns the new length */
static size_t
check_chomp(char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	return len;
}

/* check_flush_header - hand one unfolded-as-received field to the engine */
static void
check_flush_header(struct engine_msg *msg, char *field)
{
	char *colon = strchr(field, ':');
	size_t nlen;

	if (colon == NULL)
		return;
	nlen = (size_t)(colon - field);
	while (nlen > 0 && (field[nlen - 1] == ' ' || field[nlen - 1] == '\t'))
		nlen--;
	field[nlen] = '\0';
	engine_msg_header(msg, field, colon + 1);
}

/* check_is_field_start - can this line begin a header field? */
static bool
check_is_field_start(const char *line)
{
	size_t n = strcspn(line, ":");

	if (line[n] != ':' || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 33 || line[i] == 127)
			return i > 0 && (line[i] == ' ' || line[i] == '\t') &&
			       strspn(line + i, " \t") == n - i;
	return true;
}

/*
 * check_feed_headers - read the header section into the engine
 *
 * Stops at the empty line (or at a line that cannot be a header, which
 * MTAs treat as the start of the body: it is left in *pending).
 */
static int
check_feed_headers(FILE *fp, struct engine_msg *msg, char **pending)
{
	char *line = NULL, *field = NULL;
	size_t cap = 0, flen = 0;
	ssize_t n;
	bool first = true;

	*pending = NULL;
	while ((n = getline(&line, &cap, fp)) > 0) {
		size_t len = (size_t)n;
		bool crlf = len >= 2 && line[len - 2] == '\r';

		/* an mbox "From " separator is not part of the message */
		if (first && strncmp(line, "From ", 5) == 0) {
			first = false;
			continue;
		}
		first = false;
		if ((line[0] == ' ' || line[0] == '\t') && field != NULL) {
			char *grown = realloc(field, flen + len + 3);

			if (grown == NULL)
				goto fail;
			field = grown;
			/* keep the fold as it was, CRLF or LF */
			memcpy(field + flen, crlf ? "\r\n" : "\n",
			       crlf ? 2 : 1);
			flen += crlf ? 2 : 1;
			len = check_chomp(line, len);
			memcpy(field + flen, line, len + 1);
			flen += len;
			continue;
		}
		if (field != NULL) {
			check_flush_header(msg, field);
			free(field);
			field = NULL;
		}
		len = check_chomp(line, len);
		if (len == 0)
			break;
		if (!check_is_field_start(line)) {
			*pending = line; /* body starts here */
			line = NULL;
			break;
		}
		if ((field = strdup(line)) == NULL)
			goto fail;
		flen = len;
	}
	if (field != NULL) {
		check_flush_header(msg, field);
		free(field);
	}
	free(line);
	/* getline's -1 is end of file only when feof says so: ENOMEM too */
	if (ferror(fp) || (n < 0 && !feof(fp)))
		return -1;
	engine_msg_eoh(msg);
	if (*pending != NULL) {
		engine_msg_body(msg, (unsigned char *)*pending,
				strlen(*pending));
		engine_msg_body(msg, (const unsigned char *)"\r\n", 2);
		free(*pending);
		*pending = NULL;
	}
	return 0;
fail:
	free(field);
	free(line);
	return -1;
}

/* check_feed_body - stream the rest of the file in chunks */
static int
check_feed_body(FILE *fp, struct engine_msg *msg)
{
	unsigned char *buf = malloc(CHECK_BODY_CHUNK);
	size_t n;

	if (buf == NULL)
		return -1;
	while ((n = fread(buf, 1, CHECK_BODY_CHUNK, fp)) > 0)
		engine_msg_body(msg, buf, n);
	free(buf);
	return ferror(fp) ? -1 : 0;
}

/* check_print_edits - the headers to add, the ones to remove, the action */
static void
check_print_edits(const struct engine_edits *edits)
{
	const struct engine_action *act = &edits->action;

	for (size_t i = 0; i < edits->ninsert; i++)
		printf("%s: %s\n", edits->insert[i].name,
		       edits->insert[i].value);
	for (size_t i = 0; i < edits->nremove; i++)
		printf("# remove: %s[%u]\n", edits->remove[i].name,
		       edits->remove[i].index);
	switch (act->kind) {
	case ENGINE_REJECT:
	case ENGINE_TEMPFAIL:
		printf("# %s: %s %s %s\n", engine_action_name(act->kind),
		       act->code, act->xcode, act->text);
		break;
	case ENGINE_QUARANTINE:
		printf("# quarantine: %s\n", act->text);
		break;
	case ENGINE_ACCEPT:
		break;
	}
}

/* check_tempfail - what the milter does when it holds no message state */
static void
check_tempfail(const char *why)
{
	struct engine_edits edits = {0};

	fprintf(stderr, "authtag-check: %s\n", why);
	engine_tempfail(&edits, why);
	check_print_edits(&edits);
}

/* check_run - one message through the engine; exit status */
static int
check_run(struct engine *eng, const struct check_args *args, FILE *fp)
{
	struct engine_conn *conn = engine_conn_new(eng, args->client_ip);
	struct engine_msg *msg = NULL;
	struct engine_edits edits;
	char *pending;
	int rc = 1;

	engine_conn_client_name(conn, args->client_name);
	if (engine_conn_is_peer(conn)) {
		printf("# peer: %s is in PeerList, its mail passes unchecked\n",
		       args->client_ip);
		rc = 0;
		goto out;
	}
	if (conn == NULL || (msg = engine_msg_new(conn)) == NULL) {
		check_tempfail("out of memory");
		goto out;
	}
	if (args->local)
		engine_msg_local(msg);
	if (args->explain && engine_msg_explain(msg) != 0) {
		check_tempfail("out of memory");
		goto out;
	}
	engine_conn_helo(conn, args->helo);
	engine_conn_auth(conn, args->auth_user);
	if (args->mail_from != NULL)
		engine_msg_mailfrom(msg, args->mail_from);
	for (size_t i = 0; i < args->nrcpts; i++)
		engine_msg_rcpt(msg, args->rcpts[i]);
	if (check_feed_headers(fp, msg, &pending) != 0 ||
	    check_feed_body(fp, msg) != 0) {
		if (ferror(fp))
			fprintf(stderr, "authtag-check: %s: read error: %s\n",
				args->file ? args->file : "stdin",
				strerror(errno));
		else
			check_tempfail("out of memory");
		goto out;
	}
	/* whatever eom returns, its edits are what the milter applies */
	if (engine_msg_eom(msg, &edits) != 0)
		fprintf(stderr, "authtag-check: out of memory: %s\n",
			edits.action.kind == ENGINE_TEMPFAIL
			    ? "tempfail"
			    : "forged headers removed, not tagged");
	check_print_edits(&edits);
	if (*engine_msg_sign_log(msg) != '\0')
		printf("# signed: %s\n", engine_msg_sign_log(msg));
	if (*engine_msg_arc_log(msg) != '\0')
		printf("# sealed: %s\n", engine_msg_arc_log(msg));
	if (args->explain) {
		const char *e = engine_msg_explanation(msg);

		printf("# explain: how each result was reached\n");
		while (*e != '\0') {
			size_t len = strcspn(e, "\n");

			printf("#   %.*s\n", (int)len, e);
			e += len + (e[len] == '\n');
		}
	}
	engine_edits_free(&edits);
	rc = 0;
out:
	engine_msg_free(msg);
	engine_conn_free(conn);
	return rc;
}

int
main(int argc, char **argv)
{
	struct check_args args = {0};
	struct config *cfg = NULL;
	struct engine *eng = NULL;
	FILE *fp = stdin;
	char err[512];
	int rc = 2;

	switch (check_parse_args(argc, argv, &args)) {
	case 1:
		rc = 0;
		goto out;
	case -1:
		goto out;
	}
	if ((cfg = check_load_config(args.config_path)) == NULL)
		goto out;
	if ((eng = engine_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "authtag-check: %s\n", err);
		goto out;
	}
	if (*engine_warnings(eng) != '\0')
		fprintf(stderr, "authtag-check: warning: %s",
			engine_warnings(eng));
	if (args.file != NULL && (fp = fopen(args.file, "r")) == NULL) {
		fprintf(stderr, "authtag-check: %s: %s\n", args.file,
			strerror(errno));
		rc = 1;
		goto out;
	}
	rc = check_run(eng, &args, fp);
	if (fp != stdin)
		fclose(fp);
out:
	engine_free(eng);
	config_free(cfg);
	free(args.rcpts);
	return rc;
}

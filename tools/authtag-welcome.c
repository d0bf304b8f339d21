/*
 * authtag-welcome.c - the learned welcome lists: list and forget
 *
 *     authtag-welcome [-c CONFIG] list USER
 *     authtag-welcome [-c CONFIG] forget USER [ADDRESS]
 *
 * USER is an address (alice@example.org) or a login (alice: every
 * domain). A thin adapter over lib/outbound/welcome.c; exit 0, or 2 for
 * usage, configuration or store errors.
 */
#include "build.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "outbound/outbound_tool.h"

/* welcome_usage - the synopsis */
static void
welcome_usage(FILE *fp)
{
	fprintf(fp, "usage: authtag-welcome [-c CONFIG] list USER\n"
		    "       authtag-welcome [-c CONFIG] forget USER [ADDRESS]\n");
}

/* welcome_log - syslog and stderr */
static void
welcome_log(int prio, const char *text)
{
	syslog(prio, "%s", text);
	if (prio <= LOG_WARNING)
		fprintf(stderr, "authtag-welcome: %s\n", text);
}

/* welcome_out - a line of output */
static void
welcome_out(const char *line)
{
	printf("%s\n", line);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct outbound_tool_opts o = {
	    .out = welcome_out, .log = welcome_log, .now = (int64_t)time(NULL)};
	const char *path = NULL, *cmd;
	struct config *cfg = NULL;
	char err[1024] = "";
	int c, rc, nargs;

	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			welcome_usage(stdout);
			return 0;
		default:
			welcome_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		welcome_usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	nargs = argc - optind;
	if (!((strcmp(cmd, "list") == 0 && nargs == 1) ||
	      (strcmp(cmd, "forget") == 0 && (nargs == 1 || nargs == 2)))) {
		welcome_usage(stderr);
		return 2;
	}
	if (config_load_tool(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "authtag-welcome: %s\n", err);
		return 2;
	}
	openlog("authtag-welcome", LOG_PID, LOG_MAIL);
	if (outbound_tool_as_user(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "authtag-welcome: %s\n", err);
		config_free(cfg);
		return 2;
	}
	if (strcmp(cmd, "list") == 0)
		rc = welcome_list(cfg, &o, argv[optind], err, sizeof(err));
	else
		rc = welcome_forget(cfg, &o, argv[optind],
				    nargs == 2 ? argv[optind + 1] : NULL, err,
				    sizeof(err));
	if (rc < 0)
		fprintf(stderr, "authtag-welcome: %s\n", err);
	config_free(cfg);
	closelog();
	return rc < 0 ? 2 : 0;
}

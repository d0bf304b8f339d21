/*
 * fuzz_score_rules.c - libFuzzer harness for the rule-file loader
 * (lib/score_rules_load.c, score_rules_parse.c, score_meta.c)
 *
 * The input is one SpamAssassin .cf file: it is written to a file in a
 * private temporary directory and read with sr_load_files(), as
 * sr_load_dir() reads each file of RulesDir. A loaded set is checked
 * (every rule named, metas after what they use) and each meta is
 * evaluated with no rule hit, every rule hit and every other rule hit.
 * Inputs over 64 KiB are skipped, and so are inputs whose include line
 * names a path with a '/': an include of /dev/stdin or a FIFO would
 * block, and one of a big file would only measure the disk; a relative
 * include (the file itself, up to the depth limit) is fuzzed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "score/score_rules_int.h"

#define FZ_MAX_INPUT (64u << 10)

/* the directory and file every input is written to */
static char fz_dir[] = "/tmp/fuzz_rules.XXXXXX";
static char fz_file[64];

/* fz_cleanup - remove the directory when libFuzzer exits */
static void
fz_cleanup(void)
{
	unlink(fz_file);
	rmdir(fz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (mkdtemp(fz_dir) == NULL)
		abort();
	snprintf(fz_file, sizeof fz_file, "%s/input.cf", fz_dir);
	atexit(fz_cleanup);
	return 0;
}

/* fz_include_escapes - does some include line name a path with a '/'? */
static bool
fz_include_escapes(const char *text)
{
	for (const char *p = strcasestr(text, "include"); p != NULL;
	     p = strcasestr(p + 1, "include")) {
		size_t eol = strcspn(p, "\n");

		if (memchr(p, '/', eol) != NULL)
			return true;
	}
	return false;
}

/* fz_check_set - the loaded set is what score_rules.c relies on */
static void
fz_check_set(const struct sr_set *set)
{
	bool *hit = calloc(set->nrules + 1, sizeof *hit);

	if (hit == NULL)
		abort();
	for (size_t i = 0; i < set->nrules; i++) {
		const struct sr_rule *r = &set->rules[i];

		if (r->name == NULL || sr_find(set, r->name) != (long)i)
			abort();
		if ((r->type == SR_META) != (r->meta != NULL))
			abort();
		if (r->type != SR_META && r->re == NULL && !r->exists)
			abort();
	}
	/* each meta runs after the rules it uses: mark them as they run */
	for (size_t k = 0; k < set->nrules; k++) {
		const struct sr_rule *r = &set->rules[set->order[k]];
		const long *deps;
		size_t nd;

		if (set->order[k] >= set->nrules || hit[set->order[k]])
			abort();
		if (r->type == SR_META) {
			deps = sr_meta_deps(r->meta, &nd);
			for (size_t j = 0; j < nd; j++)
				if (deps[j] >= 0 && !hit[deps[j]])
					abort();
		}
		hit[set->order[k]] = true;
	}
	for (unsigned pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < set->nrules; i++)
			hit[i] = pass == 1 || (pass == 2 && i % 2 == 0);
		for (size_t k = 0; k < set->nrules; k++) {
			const struct sr_rule *r = &set->rules[set->order[k]];

			if (r->type == SR_META)
				(void)sr_meta_eval(r->meta, hit);
		}
	}
	free(hit);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *files[1] = {fz_file};
	struct sr_set *set = NULL;
	char err[512], *text;
	FILE *fp;

	if (size > FZ_MAX_INPUT)
		return 0;
	text = fz_cstr(data, size);
	if (fz_include_escapes(text)) {
		free(text);
		return 0;
	}
	free(text);
	if ((fp = fopen(fz_file, "w")) == NULL ||
	    fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		abort();
	err[0] = '\0';
	if (sr_load_files(files, 1, &set, err, sizeof err) == 0) {
		if (set == NULL)
			abort();
		fz_check_set(set);
		sr_free(set);
	} else if (set != NULL || err[0] == '\0') {
		abort();
	}
	return 0;
}

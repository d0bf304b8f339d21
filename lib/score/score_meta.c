/*
 * score_meta.c - SpamAssassin meta expressions: compile once, evaluate
 * per message
 *
 * Owns the grammar of `meta NAME expr`: rule names (1 when hit, else 0),
 * decimal numbers, parentheses, ! and unary -, * /, + -, < > <= >=,
 * == !=, && and ||, with Perl's precedence and Perl's values (&& and ||
 * give one of their operands, comparisons 1 or 0), which is what
 * SpamAssassin evaluates. An expression compiles to a postfix program;
 * evaluation is a loop over it with a small stack, no recursion, so no
 * input can exhaust the C stack at run time.
 */
#include "build.h" /* first: feature macros */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score_rules_int.h"
#include "strbuf.h"

#define META_MAX_OPS   512 /* operations in one expression */
#define META_MAX_DEPTH 64  /* parenthesis nesting while compiling */

enum meta_op {
	MOP_NUM = 0,
	MOP_RULE,
	MOP_NOT,
	MOP_NEG,
	MOP_MUL,
	MOP_DIV,
	MOP_ADD,
	MOP_SUB,
	MOP_LT,
	MOP_GT,
	MOP_LE,
	MOP_GE,
	MOP_EQ,
	MOP_NE,
	MOP_AND,
	MOP_OR,
};

struct meta_ins {
	enum meta_op op;
	double num; /* MOP_NUM */
	char *name; /* MOP_RULE, until resolved */
	long rule;  /* MOP_RULE: index, or -1 for an unknown name */
};

struct sr_meta {
	struct meta_ins *ins;
	size_t nins;
	size_t stack; /* the deepest the evaluation stack gets */
	long *deps;
	size_t ndeps;
};

struct meta_parse {
	const char *p;
	struct sr_meta *m;
	char *err;
	size_t errlen;
	unsigned depth;
	bool failed;
};

/* meta_fail - remember the first error */
static void
meta_fail(struct meta_parse *ps, const char *why)
{
	if (!ps->failed)
		snprintf(ps->err, ps->errlen, "%s", why);
	ps->failed = true;
}

/* meta_emit - append one instruction */
static void
meta_emit(struct meta_parse *ps, enum meta_op op, double num, const char *name,
	  size_t nlen)
{
	struct meta_ins *grown;

	if (ps->failed)
		return;
	if (ps->m->nins >= META_MAX_OPS) {
		meta_fail(ps, "expression too long");
		return;
	}
	if (sb_array_room(&ps->m->ins, ps->m->nins, sizeof(*ps->m->ins)) !=
	    0) {
		meta_fail(ps, "out of memory");
		return;
	}
	grown = ps->m->ins;
	grown[ps->m->nins] =
	    (struct meta_ins){.op = op, .num = num, .rule = -1};
	if (name != NULL &&
	    (grown[ps->m->nins].name = strndup(name, nlen)) == NULL) {
		meta_fail(ps, "out of memory");
		return;
	}
	ps->m->nins++;
}

/* meta_skip - past blanks */
static void
meta_skip(struct meta_parse *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

/* meta_accept - consume tok if it is next (and not the start of a longer
 * operator such as "<=" when tok is "<") */
static bool
meta_accept(struct meta_parse *ps, const char *tok)
{
	size_t n = strlen(tok);

	meta_skip(ps);
	if (strncmp(ps->p, tok, n) != 0)
		return false;
	if (n == 1 && strchr("<>!", tok[0]) && ps->p[1] == '=')
		return false;
	ps->p += n;
	return true;
}

static void meta_or(struct meta_parse *ps);

/* meta_primary - a number, a rule name, or a parenthesised expression */
static void
meta_primary(struct meta_parse *ps)
{
	const char *s;

	meta_skip(ps);
	s = ps->p;
	if (*s == '(') {
		if (++ps->depth > META_MAX_DEPTH) {
			meta_fail(ps, "too deeply nested");
			return;
		}
		ps->p++;
		meta_or(ps);
		if (!meta_accept(ps, ")"))
			meta_fail(ps, "missing ')'");
		ps->depth--;
		return;
	}
	if (isdigit((unsigned char)*s)) {
		/* SpamAssassin's lexer knows only digits[.digits] */
		char num[64];
		size_t n = 0;

		while (isdigit((unsigned char)*ps->p) && n < sizeof(num) - 1)
			num[n++] = *ps->p++;
		if (*ps->p == '.' && isdigit((unsigned char)ps->p[1])) {
			num[n++] = *ps->p++;
			while (isdigit((unsigned char)*ps->p) &&
			       n < sizeof(num) - 1)
				num[n++] = *ps->p++;
		}
		num[n] = '\0';
		if (isalnum((unsigned char)*ps->p) || *ps->p == '_' ||
		    *ps->p == '.') {
			meta_fail(ps, "bad number");
			return;
		}
		meta_emit(ps, MOP_NUM, strtod(num, NULL), NULL, 0);
		return;
	}
	if (isalpha((unsigned char)*s) || *s == '_') {
		while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
			ps->p++;
		meta_emit(ps, MOP_RULE, 0, s, (size_t)(ps->p - s));
		return;
	}
	meta_fail(ps, *s ? "unexpected token" : "missing operand");
}

/* meta_unary - ! - + prefixes */
static void
meta_unary(struct meta_parse *ps)
{
	if (ps->failed)
		return;
	if (meta_accept(ps, "!")) {
		meta_unary(ps);
		meta_emit(ps, MOP_NOT, 0, NULL, 0);
	} else if (meta_accept(ps, "-")) {
		meta_unary(ps);
		meta_emit(ps, MOP_NEG, 0, NULL, 0);
	} else if (meta_accept(ps, "+")) {
		meta_unary(ps);
	} else {
		meta_primary(ps);
	}
}

/* one binary precedence level: the operators and their opcodes */
struct meta_level {
	const char *tok[4];
	enum meta_op op[4];
};

static const struct meta_level meta_levels[] = {
    {{"||"}, {MOP_OR}},
    {{"&&"}, {MOP_AND}},
    {{"==", "!="}, {MOP_EQ, MOP_NE}},
    {{"<=", ">=", "<", ">"}, {MOP_LE, MOP_GE, MOP_LT, MOP_GT}},
    {{"+", "-"}, {MOP_ADD, MOP_SUB}},
    {{"*", "/"}, {MOP_MUL, MOP_DIV}},
};

#define META_NLEVELS (sizeof(meta_levels) / sizeof(meta_levels[0]))

/* meta_level - left-associative operators of level l and tighter */
static void
meta_level(struct meta_parse *ps, size_t l)
{
	if (l == META_NLEVELS) {
		meta_unary(ps);
		return;
	}
	meta_level(ps, l + 1);
	while (!ps->failed) {
		size_t k;

		for (k = 0; k < 4 && meta_levels[l].tok[k] != NULL; k++)
			if (meta_accept(ps, meta_levels[l].tok[k]))
				break;
		if (k == 4 || meta_levels[l].tok[k] == NULL)
			return;
		meta_level(ps, l + 1);
		meta_emit(ps, meta_levels[l].op[k], 0, NULL, 0);
	}
}

/* meta_or - a whole expression */
static void
meta_or(struct meta_parse *ps)
{
	meta_level(ps, 0);
}

/* sr_meta_compile - compile a meta expression */
struct sr_meta *
sr_meta_compile(const char *expr, char *err, size_t errlen)
{
	struct sr_meta *m = calloc(1, sizeof(*m));
	struct meta_parse ps = {
	    .p = expr, .m = m, .err = err, .errlen = errlen};
	size_t depth = 0;

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* SpamAssassin's own guard against Perl in an expression */
	if (strpbrk(expr, "$@%;{}") != NULL || strstr(expr, "::") ||
	    strstr(expr, "->"))
		meta_fail(&ps, "invalid character");
	meta_or(&ps);
	meta_skip(&ps);
	if (!ps.failed && *ps.p != '\0')
		meta_fail(&ps,
			  *ps.p == ')' ? "unbalanced ')'" : "unexpected token");
	/* the stack depth the program needs */
	for (size_t i = 0; i < m->nins && !ps.failed; i++) {
		enum meta_op op = m->ins[i].op;

		if (op == MOP_NUM || op == MOP_RULE)
			depth++;
		else if (op != MOP_NOT && op != MOP_NEG)
			depth--;
		if (depth > m->stack)
			m->stack = depth;
	}
	if (ps.failed) {
		sr_meta_free(m);
		return NULL;
	}
	return m;
}

/* sr_meta_resolve - bind rule names to indices */
int
sr_meta_resolve(struct sr_meta *m, const struct sr_set *set)
{
	free(m->deps);
	m->deps = NULL;
	m->ndeps = 0;
	for (size_t i = 0; i < m->nins; i++) {
		if (m->ins[i].op != MOP_RULE)
			continue;
		m->ins[i].rule = sr_find(set, m->ins[i].name);
		if (sb_array_room(&m->deps, m->ndeps, sizeof(*m->deps)) != 0)
			return -1;
		m->deps[m->ndeps++] = m->ins[i].rule;
	}
	return 0;
}

/* sr_meta_deps - the indices m uses */
const long *
sr_meta_deps(const struct sr_meta *m, size_t *n)
{
	*n = m->ndeps;
	return m->deps;
}

/* sr_meta_eval - the value of m */
double
sr_meta_eval(const struct sr_meta *m, const bool *hit)
{
	double stack[META_MAX_OPS + 1];
	size_t sp = 0;

	for (size_t i = 0; i < m->nins; i++) {
		const struct meta_ins *in = &m->ins[i];
		double a, b;

		switch (in->op) {
		case MOP_NUM:
			stack[sp++] = in->num;
			continue;
		case MOP_RULE:
			stack[sp++] = in->rule >= 0 && hit[in->rule] ? 1 : 0;
			continue;
		case MOP_NOT:
			stack[sp - 1] = stack[sp - 1] == 0 ? 1 : 0;
			continue;
		case MOP_NEG:
			stack[sp - 1] = -stack[sp - 1];
			continue;
		default:
			break;
		}
		b = stack[--sp];
		a = stack[sp - 1];
		switch (in->op) {
		case MOP_MUL:
			a = a * b;
			break;
		case MOP_DIV:
			a = b != 0 ? a / b : 0;
			break;
		case MOP_ADD:
			a = a + b;
			break;
		case MOP_SUB:
			a = a - b;
			break;
		case MOP_LT:
			a = a < b;
			break;
		case MOP_GT:
			a = a > b;
			break;
		case MOP_LE:
			a = a <= b;
			break;
		case MOP_GE:
			a = a >= b;
			break;
		case MOP_EQ:
			a = a == b;
			break;
		case MOP_NE:
			a = a != b;
			break;
		case MOP_AND:
			a = a == 0 ? a : b;
			break;
		case MOP_OR:
			a = a != 0 ? a : b;
			break;
		default:
			break;
		}
		stack[sp - 1] = a;
	}
	return sp > 0 ? stack[sp - 1] : 0;
}

/* sr_meta_free - free a compiled expression */
void
sr_meta_free(struct sr_meta *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nins; i++)
		free(m->ins[i].name);
	free(m->ins);
	free(m->deps);
	free(m);
}

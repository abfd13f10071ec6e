/* parser.y - grammar of the .cnn language (Bison, pure, with locations and
 * error recovery at statement boundaries). Builds the AST of cnncc.h; all
 * meaning (names, blocks, shapes) is left to sema.c.
 *
 * `x -> f(args)` is sugar for `f(x, args)`, so a chain is nested calls. */
%code requires {
#include "cnncc.h"
typedef void *yyscan_t;
typedef struct { CnnDiags *diags; CnnLoc comment_start; } CnnScanExtra;
typedef struct { CnnStmt *first, *last; } CnnStmtList;
typedef struct { CnnArg *first, *last; } CnnArgList;
typedef struct CnnParser CnnParser;
}

%code provides {
int cnn_scan_lex(YYSTYPE *lval, CnnLoc *lloc, yyscan_t scanner);
}

%code {
#include <string.h>

struct CnnParser {
  CnnArena *arena;
  CnnDiags *diags;
  yyscan_t scanner;
  int depth;        /* open ( and [: newlines inside them are spaces */
  int last;         /* last token handed to the parser */
  bool has_pending; /* a token read ahead by the newline filter */
  int pending;
  YYSTYPE pending_val;
  CnnLoc pending_loc;
  CnnLoc pos;        /* the scanner's running position */
  CnnStmt *program;
};

static int yylex(YYSTYPE *val, CnnLoc *loc, CnnParser *p);
static void yyerror(CnnLoc *loc, CnnParser *p, const char *msg);
static CnnExpr *new_expr(CnnParser *p, CnnExprKind kind, CnnLoc loc);
static CnnExpr *binary(CnnParser *p, int op, CnnExpr *l, CnnExpr *r, CnnLoc loc);
static CnnStmt *new_stmt(CnnParser *p, CnnStmtKind kind, CnnLoc loc);
static CnnArg *new_arg(CnnParser *p, const char *keyword, CnnExpr *value, CnnLoc loc);
static CnnArgList arg_append(CnnArgList l, CnnArg *a);
static CnnExpr *call(CnnParser *p, const char *name, CnnArgList args, CnnLoc loc);
}

%define api.pure full
%define api.location.type {CnnLoc}
%define parse.error detailed
%locations
%param {CnnParser *p}

%union {
  int64_t ival;
  double fval;
  const char *str;
  CnnExpr *expr;
  CnnArg *arg;
  CnnArgList args;
  CnnStmt *stmt;
  CnnStmtList stmts;
  CnnParam *param;
}

%token END 0 "end of file"
%token SEP "end of line"
%token ARROW "->" EQ "==" NE "!=" LE "<=" GE ">=" AND "&&" OR "||"
%token NETWORK "network" INPUT "input" OUTPUT "output" LOSS "loss"
%token BLOCK "block" RETURN "return" FOR "for" IN "in" IF "if" ELSE "else"
%token TRAIN "train"
%token <ival> INT "integer" BOOL "boolean"
%token <fval> FLOAT "number"
%token <str> IDENT "name" SYMBOL "padding mode"

%type <stmts> stmts body
%type <stmt> stmt if_stmt
%type <expr> expr postfix primary layer
%type <args> args arg_list group_args group_list
%type <arg> arg
%type <param> params param_list param names

%precedence ARROW
%left OR
%left AND
%nonassoc EQ NE '<' '>' LE GE
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

program: stmts                      { p->program = $1.first; }
  ;

stmts: %empty                       { $$ = (CnnStmtList){0}; }
  | stmts SEP                       { $$ = $1; }
  | stmts stmt SEP                  {
        $$ = $1;
        if ($$.last) $$.last->next = $2; else $$.first = $2;
        $$.last = $2;
    }
  | stmts error SEP                 { $$ = $1; yyerrok; }
  ;

stmt: NETWORK IDENT                 { $$ = new_stmt(p, STMT_NETWORK, @2); $$->name = $2; }
  | INPUT IDENT '[' args ']'        {
        $$ = new_stmt(p, STMT_INPUT, @2); $$->name = $2;
        $$->value = new_expr(p, AST_LIST, @4); $$->value->args = $4.first;
    }
  | names '=' expr                  {
        $$ = new_stmt(p, STMT_ASSIGN, @1); $$->value = $3;
        if ($1->next) $$->params = $1; else $$->name = $1->name;
    }
  | OUTPUT expr                     { $$ = new_stmt(p, STMT_OUTPUT, @2); $$->value = $2; }
  | LOSS expr                       { $$ = new_stmt(p, STMT_LOSS, @2); $$->value = $2; }
  | RETURN expr                     { $$ = new_stmt(p, STMT_RETURN, @2); $$->value = $2; }
  | BLOCK IDENT '(' params ')' body {
        $$ = new_stmt(p, STMT_BLOCK, @2); $$->name = $2; $$->params = $4; $$->body = $6.first;
    }
  | FOR names IN expr body          {
        $$ = new_stmt(p, STMT_FOR, @1); $$->params = $2; $$->value = $4; $$->body = $5.first;
    }
  | if_stmt
  | TRAIN body                      { $$ = new_stmt(p, STMT_TRAIN, @1); $$->body = $2.first; }
  | IDENT '{' group_args '}'        {
        /* a group of settings, augment { crop = 4 }: augment = augment(crop = 4) */
        $$ = new_stmt(p, STMT_ASSIGN, @1); $$->name = $1; $$->value = call(p, $1, $3, @1);
    }
  ;

/* a group's settings, separated by commas or newlines */
group_args: %empty                  { $$ = (CnnArgList){0}; }
  | group_list
  | group_list ','
  | group_list SEP
  ;

group_list: arg                     { $$ = arg_append((CnnArgList){0}, $1); }
  | group_list ',' arg              { $$ = arg_append($1, $3); }
  | group_list SEP arg              { $$ = arg_append($1, $3); }
  ;

if_stmt: IF expr body               { $$ = new_stmt(p, STMT_IF, @2); $$->value = $2; $$->body = $3.first; }
  | IF expr body ELSE body          {
        $$ = new_stmt(p, STMT_IF, @2); $$->value = $2; $$->body = $3.first; $$->orelse = $5.first;
    }
  | IF expr body ELSE if_stmt       {
        $$ = new_stmt(p, STMT_IF, @2); $$->value = $2; $$->body = $3.first; $$->orelse = $5;
    }
  ;

body: '{' stmts '}'                 { $$ = $2; }
  ;

params: %empty                      { $$ = NULL; }
  | param_list
  | param_list ','
  ;

param_list: param
  | param_list ',' param            {
        CnnParam *q = $1;
        while (q->next) q = q->next;
        q->next = $3;
        $$ = $1;
    }
  ;

/* a, b = block(x) and for a, b in [(1, 2), (3, 4)] */
names: IDENT                        { $$ = cnn_alloc(p->arena, sizeof *$$); $$->name = $1; $$->loc = @1; }
  | names ',' IDENT                 {
        CnnParam *q = cnn_alloc(p->arena, sizeof *q);
        q->name = $3;
        q->loc = @3;
        q->next = $1;
        $$ = q; /* reversed; sema.c reads them back to front */
    }
  ;

param: IDENT                        { $$ = cnn_alloc(p->arena, sizeof *$$); $$->name = $1; $$->loc = @1; }
  | IDENT '=' expr                  {
        $$ = cnn_alloc(p->arena, sizeof *$$); $$->name = $1; $$->loc = @1; $$->default_value = $3;
    }
  ;

expr: expr ARROW layer              {
        /* x -> f(args) is f(x, args) */
        CnnArg *in = new_arg(p, NULL, $1, @1);
        in->next = $3->args;
        $3->args = in;
        $$ = $3;
    }
  | expr OR expr                    { $$ = binary(p, OR, $1, $3, @2); }
  | expr AND expr                   { $$ = binary(p, AND, $1, $3, @2); }
  | expr EQ expr                    { $$ = binary(p, EQ, $1, $3, @2); }
  | expr NE expr                    { $$ = binary(p, NE, $1, $3, @2); }
  | expr '<' expr                   { $$ = binary(p, '<', $1, $3, @2); }
  | expr '>' expr                   { $$ = binary(p, '>', $1, $3, @2); }
  | expr LE expr                    { $$ = binary(p, LE, $1, $3, @2); }
  | expr GE expr                    { $$ = binary(p, GE, $1, $3, @2); }
  | expr '+' expr                   { $$ = binary(p, '+', $1, $3, @2); }
  | expr '-' expr                   { $$ = binary(p, '-', $1, $3, @2); }
  | expr '*' expr                   { $$ = binary(p, '*', $1, $3, @2); }
  | expr '/' expr                   { $$ = binary(p, '/', $1, $3, @2); }
  | expr '%' expr                   { $$ = binary(p, '%', $1, $3, @2); }
  | '-' expr %prec UNARY            { $$ = new_expr(p, AST_UNARY, @1); $$->op = '-'; $$->lhs = $2; }
  | '!' expr %prec UNARY            { $$ = new_expr(p, AST_UNARY, @1); $$->op = '!'; $$->lhs = $2; }
  | postfix
  ;

layer: IDENT                        { $$ = call(p, $1, (CnnArgList){0}, @1); }
  | IDENT '(' args ')'              { $$ = call(p, $1, $3, @1); }
  ;

postfix: primary
  | postfix '.' IDENT               { $$ = new_expr(p, AST_ATTR, @3); $$->lhs = $1; $$->name = $3; }
  ;

primary: INT                        { $$ = new_expr(p, AST_INT, @1); $$->ival = $1; }
  | FLOAT                           { $$ = new_expr(p, AST_FLOAT, @1); $$->fval = $1; }
  | BOOL                            { $$ = new_expr(p, AST_BOOL, @1); $$->ival = $1; }
  | SYMBOL                          { $$ = new_expr(p, AST_SYMBOL, @1); $$->name = $1; }
  | IDENT                           { $$ = new_expr(p, AST_NAME, @1); $$->name = $1; }
  | IDENT '(' args ')'              { $$ = call(p, $1, $3, @1); }
  | '(' expr ')'                    { $$ = $2; }
  | '(' expr ',' args ')'           {
        $$ = new_expr(p, AST_TUPLE, @$);
        $$->args = new_arg(p, NULL, $2, @2);
        $$->args->next = $4.first;
    }
  | '[' args ']'                    { $$ = new_expr(p, AST_LIST, @$); $$->args = $2.first; }
  ;

args: %empty                        { $$ = (CnnArgList){0}; }
  | arg_list
  | arg_list ','
  ;

arg_list: arg                       { $$ = arg_append((CnnArgList){0}, $1); }
  | arg_list ',' arg                { $$ = arg_append($1, $3); }
  ;

arg: expr                           { $$ = new_arg(p, NULL, $1, @1); }
  | IDENT '=' expr                  { $$ = new_arg(p, $1, $3, @1); }
  ;

%%

static CnnExpr *new_expr(CnnParser *p, CnnExprKind kind, CnnLoc loc) {
  CnnExpr *e = cnn_alloc(p->arena, sizeof *e);
  e->kind = kind;
  e->loc = loc;
  return e;
}

static CnnExpr *binary(CnnParser *p, int op, CnnExpr *l, CnnExpr *r, CnnLoc loc) {
  CnnExpr *e = new_expr(p, AST_BINARY, loc);
  e->op = op;
  e->lhs = l;
  e->rhs = r;
  return e;
}

static CnnStmt *new_stmt(CnnParser *p, CnnStmtKind kind, CnnLoc loc) {
  CnnStmt *s = cnn_alloc(p->arena, sizeof *s);
  s->kind = kind;
  s->loc = loc;
  return s;
}

static CnnArg *new_arg(CnnParser *p, const char *keyword, CnnExpr *value, CnnLoc loc) {
  CnnArg *a = cnn_alloc(p->arena, sizeof *a);
  a->keyword = keyword;
  a->value = value;
  a->loc = keyword ? loc : value->loc;
  return a;
}

static CnnArgList arg_append(CnnArgList l, CnnArg *a) {
  if (l.last) l.last->next = a; else l.first = a;
  l.last = a;
  return l;
}

static CnnExpr *call(CnnParser *p, const char *name, CnnArgList args, CnnLoc loc) {
  CnnExpr *e = new_expr(p, AST_CALL, loc);
  e->name = name;
  e->args = args.first;
  return e;
}

static void yyerror(CnnLoc *loc, CnnParser *p, const char *msg) {
  if (!strcmp(msg, "memory exhausted"))
    msg = "the program is nested too deeply";
  cnn_error(p->diags, *loc, "%s", msg);
}

/* ---- the newline filter between Flex and Bison ----
 * A newline ends a statement only where one can end, and not when the next
 * line continues the expression (starts with ->, an operator, else or {).
 * A statement also ends before } and at the end of the file. */

static bool ends_statement(int t) {
  return t == IDENT || t == INT || t == FLOAT || t == BOOL || t == SYMBOL ||
         t == ')' || t == ']' || t == '}';
}

static bool continues_line(int t) {
  return strchr("+-*/%<>.{)],", t) ? t != 0 : t == ARROW || t == ELSE || t == EQ ||
         t == NE || t == LE || t == GE || t == AND || t == OR;
}

/* Keywords that only start statements: an unclosed ( before one is an error
 * that must not swallow the rest of the file. */
static bool starts_statement(int t) {
  return t == NETWORK || t == INPUT || t == OUTPUT || t == LOSS || t == BLOCK ||
         t == RETURN || t == FOR || t == IF || t == TRAIN || t == '{' || t == '}';
}

static int raw_token(CnnParser *p, YYSTYPE *val, CnnLoc *loc) {
  if (p->has_pending) {
    p->has_pending = false;
    *val = p->pending_val;
    *loc = p->pending_loc;
    return p->pending;
  }
  int t = cnn_scan_lex(val, &p->pos, p->scanner);
  *loc = p->pos;
  return t;
}

static void push_back(CnnParser *p, int t, YYSTYPE val, CnnLoc loc) {
  p->has_pending = true;
  p->pending = t;
  p->pending_val = val;
  p->pending_loc = loc;
}

static int filtered_token(CnnParser *p, YYSTYPE *val, CnnLoc *loc) {
  int t = raw_token(p, val, loc);
  while (t == SEP) {
    if (p->depth > 0 || !ends_statement(p->last)) {
      t = raw_token(p, val, loc);
      continue;
    }
    YYSTYPE next_val;
    CnnLoc next_loc;
    int next;
    do next = raw_token(p, &next_val, &next_loc); while (next == SEP);
    if (!continues_line(next)) {
      push_back(p, next, next_val, next_loc);
      return SEP;
    }
    t = next;
    *val = next_val;
    *loc = next_loc;
  }
  if ((t == '}' || t == END) && p->depth == 0 && ends_statement(p->last)) {
    push_back(p, t, *val, *loc);
    return SEP;
  }
  if (starts_statement(t)) p->depth = 0;
  else if (t == '(' || t == '[') p->depth++;
  else if ((t == ')' || t == ']') && p->depth > 0) p->depth--;
  return t;
}

static int yylex(YYSTYPE *val, CnnLoc *loc, CnnParser *p) {
  int t = filtered_token(p, val, loc);
  p->last = t;
  return t;
}

int cnn_scan_lex_init_extra(CnnScanExtra *extra, yyscan_t *scanner);
int cnn_scan_lex_destroy(yyscan_t scanner);
void *cnn_scan__scan_bytes(const char *bytes, int len, yyscan_t scanner);

CnnStmt *cnn_parse(CnnArena *a, CnnDiags *d, const char *src, size_t len) {
  if (len > (size_t)1 << 30) {
    cnn_error(d, (CnnLoc){0}, "source file is larger than 1 GiB");
    return NULL;
  }
  CnnScanExtra extra = {.diags = d};
  CnnParser p = {.arena = a, .diags = d, .pos = {1, 0, 1, 0}};
  if (cnn_scan_lex_init_extra(&extra, &p.scanner)) {
    cnn_error(d, (CnnLoc){0}, "cannot start the scanner");
    return NULL;
  }
  cnn_scan__scan_bytes(src, (int)len, p.scanner);
  yyparse(&p);
  cnn_scan_lex_destroy(p.scanner);
  return p.program;
}

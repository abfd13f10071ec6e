/* main.c - the cnncc command line. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cnncc.h"
#include "notice.h"
#include "plan/train.h"
#include "plan/infer.h"

static void usage(FILE *out) {
  fprintf(out,
          "Usage: cnncc [OPTION]... FILE.cnn\n"
          "Compile a convolutional network described in FILE.cnn.\n"
          "\n"
          "  -c, --check          check the program (syntax, names, shapes) and exit\n"
          "  -s, --summary        print each layer's output shape, parameters, FLOPs\n"
          "                       and activation memory, then totals; with\n"
          "                       --emit=inference, also the bytes its code needs\n"
          "                       (weights, scratch, buffers; docs/inference.md),\n"
          "                       with --quantize=int8 those of the int8 code too\n"
          "                       (no --calibrate needed), and without --weights it\n"
          "                       writes nothing\n"
          "      --plan           print the plan of the training code (per layer: the\n"
          "                       kernel, fusions, recomputation; per buffer of the\n"
          "                       pool: offset, size and steps in use; the scratch)\n"
          "                       and exit (docs/generated-code.md); with\n"
          "                       --emit=inference, that of the inference code (its\n"
          "                       groups and arena; docs/inference.md)\n"
          "      --emit=train     (the default) with -o FILE.c: write the training code\n"
          "                       FILE.c and FILE.h; with -o FILE: also compile it (with\n"
          "                       CNNCC_CC) and link it with libcnnrt into the trainer FILE\n"
          "      --mpi            build a data-parallel trainer for mpirun (with mpicc;\n"
          "                       docs/distributed.md): the same checkpoints as\n"
          "                       the plain trainer on any number of ranks\n"
          "      --dtype=TYPE     float (default) or double; double code has no main\n"
          "                       and is meant for gradient checks\n"
          "      --target=TARGET  what a program (-o PROGRAM) is compiled for: native\n"
          "                       (the default: this machine, -march=native), avx512,\n"
          "                       avx2 (with FMA) or generic (portable, -O3); the C\n"
          "                       file is the same for all (its SIMD kernels are\n"
          "                       chosen by the compiler's target)\n"
          "      --emit=pytorch   write a PyTorch module mirroring the network\n"
          "                       (docs/pytorch.md) to -o's file ('-': standard\n"
          "                       output), by default FILE.py next to FILE.cnn\n"
          "      --emit=dot       write a Graphviz graph of the network (one box per\n"
          "                       layer: operator, arguments, output shape, parameters;\n"
          "                       shortcuts dashed) to -o's file, by default standard\n"
          "                       output; dot -Tsvg draws it (docs/interop.md)\n"
          "      --emit=inference write standalone inference C (docs/inference.md) with\n"
          "                       the weights of --weights CKPT compiled in, to -o's file\n"
          "                       (default NAME_infer.c next to FILE.cnn)\n"
          "      --emit=onnx      write the network in evaluation mode as an ONNX model\n"
          "                       (opset 13; docs/interop.md) to -o's file ('-':\n"
          "                       standard output), by default FILE.onnx next to\n"
          "                       FILE.cnn; weights from --weights CKPT, else those the\n"
          "                       trainer starts from (the train block's seed)\n"
          "      --weights CKPT   the checkpoint for --emit=inference or --emit=onnx\n"
          "      --fold-batchnorm --emit=onnx: fold each batchnorm into the convolution\n"
          "                       or dense layer before it\n"
          "      --header         --emit=inference: also write FILE.h next to FILE.c\n"
          "      --static-arena   --emit=inference: a static scratch arena instead of\n"
          "                       the caller's memory (the code is then not reentrant)\n"
          "      --no-softmax     --emit=inference: no NAME_softmax() for probabilities\n"
          "      --quantize=int8  --emit=inference: int8 code, scales calibrated on\n"
          "                       --calibrate DIR (as the trainer's --data DIR; its first\n"
          "                       --calibrate-samples N training samples, default 500)\n"
          "  -o FILE              where the output goes (see --emit); without -o,\n"
          "                       --check or --summary, cnncc builds the trainer NAME\n"
          "                       in the current directory from NAME.cnn (as cc\n"
          "                       builds a.out)\n"
          "  -h, --help           display this help and exit\n"
          "  -V, --version        output version information and exit\n"
          "\n"
          "FILE may be '-' for standard input.\n"
          "Exit status: 0 success, 1 errors in FILE, 2 bad command line or unreadable FILE.\n"
          "A trainer's command line: PROGRAM --help, or man cnncc-trainer.\n"
          "The manual and example networks: " CNNCC_DOCDIR "\n"
          "(docs/ and examples/ of the cnncc sources).\n");
}

/* GNU style, then the compiler that trainers are built with: a trainer's
 * speed and correctness depend on it (clang 14 once miscompiled one). It
 * comes last, after a blank line, so that help2man keeps the notice as the
 * man page's COPYRIGHT. */
static void print_version(void) {
  printf("cnncc (cnncc) %s\n%s\n", PACKAGE_VERSION, CNNCC_VERSION_NOTICE);
  cnn_print_program_compiler(stdout);
}

/* Reads a whole file (or stdin for "-"); NULL with errno set on failure. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    char *bigger = cap < ((size_t)1 << 31) ? realloc(buf, cap * 2) : NULL;
    if (!bigger) {
      free(buf);
      buf = NULL;
      errno = EFBIG;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  int err = ferror(f) ? errno : 0;
  if (f != stdin) fclose(f);
  if (err && buf) {
    free(buf);
    buf = NULL;
    errno = err;
  }
  *len = n;
  return buf;
}

/* The trainer that `cnncc NAME.cnn` builds without -o: NAME in the current
 * directory, as `cc foo.c` builds a program. A FILE without .cnn (or
 * standard input) has no NAME that could not be FILE itself, so then -o is
 * needed. NULL with a message if so or out of memory. */
static char *default_trainer(const char *path) {
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  size_t n = strlen(base);
  if (!strcmp(path, "-") || n <= 4 || strcmp(base + n - 4, ".cnn")) {
    if (!strcmp(path, "-"))
      fprintf(stderr, "cnncc: no -o: name the trainer built from standard input with -o PROGRAM\n");
    else
      fprintf(stderr,
              "cnncc: no -o and '%s' does not end in .cnn: name the trainer with -o PROGRAM\n", path);
    return NULL;
  }
  char *name = strndup(base, n - 4);
  if (!name) fprintf(stderr, "cnncc: out of memory\n");
  return name;
}

/* A printer of a text output: the network, and the .cnn file it came from. */
typedef int TextEmitter(FILE *out, const CnnNet *net, const char *source);

/* --emit=pytorch and --emit=dot: to -o FILE, else FILE.EXT next to FILE.cnn
 * (with ext NULL, and for '-', to standard output). */
static int emit_text(const CnnNet *net, const char *path, const char *output, const char *ext,
                     TextEmitter *emit) {
  char *made = NULL;
  if (!output) {
    size_t n = strlen(path);
    if (!strcmp(path, "-") || !ext) output = "-";
    else if ((made = malloc(n + strlen(ext) + 2))) {
      memcpy(made, path, n + 1);
      if (n > 4 && !strcmp(made + n - 4, ".cnn")) made[n - 4] = '\0';
      strcat(strcat(made, "."), ext);
      output = made;
    } else {
      fprintf(stderr, "cnncc: out of memory\n");
      return 1;
    }
  }
  FILE *f = strcmp(output, "-") ? fopen(output, "w") : stdout;
  int status = 0;
  if (!f) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", output, strerror(errno));
    status = 1;
  } else {
    int err = emit(f, net, strcmp(path, "-") ? path : "<stdin>");
    if ((f == stdout ? fflush(f) : fclose(f)) || err) {
      fprintf(stderr, "cnncc: cannot write '%s': %s\n", output, strerror(errno));
      status = 1;
    }
  }
  free(made);
  return status;
}

/* What the command line asks for. */
typedef struct {
  bool check, summary, plan;
  const char *emit, *output, *path;
  CnnEmitOptions gen;   /* --emit=train */
  CnnInferOptions infer; /* --emit=inference */
  CnnOnnxOptions onnx;   /* --emit=onnx */
} Command;

static bool parse_dtype(const char *text, CnnDtype *dtype) {
  if (!strcmp(text, "float")) *dtype = CNN_DTYPE_FLOAT;
  else if (!strcmp(text, "double")) *dtype = CNN_DTYPE_DOUBLE;
  else {
    fprintf(stderr, "cnncc: unknown --dtype '%s' (expected float or double)\n", text);
    return false;
  }
  return true;
}

static bool parse_target(const char *text, CnnTarget *target) {
  static const char *const names[] = {[CNN_TARGET_GENERIC] = "generic", [CNN_TARGET_NATIVE] = "native",
                                      [CNN_TARGET_AVX2] = "avx2", [CNN_TARGET_AVX512] = "avx512"};
  for (int t = 0; t < (int)(sizeof names / sizeof *names); t++)
    if (!strcmp(text, names[t])) {
      *target = (CnnTarget)t;
      return true;
    }
  fprintf(stderr, "cnncc: unknown --target '%s' (expected native, avx512, avx2 or generic)\n", text);
  return false;
}

/* --calibrate-samples N: a count from 1 to 10^9. */
static bool parse_samples(const char *text, long *n) {
  char *end;
  errno = 0;
  *n = strtol(text, &end, 10);
  if (errno || end == text || *end || *n < 1 || *n > 1000000000) {
    fprintf(stderr, "cnncc: --calibrate-samples expects a count from 1 to 1000000000, not '%s'\n", text);
    return false;
  }
  return true;
}

/* --quantize and --calibrate: for --emit=inference, together, int8 only. */
static bool check_quantize(const Command *cmd) {
  const CnnInferOptions *q = &cmd->infer;
  const char *e = "";
  static char unknown[200];
  snprintf(unknown, sizeof unknown, "unknown --quantize '%.100s' (expected int8)", q->quantize ? q->quantize : "");
  if (!q->quantize && (q->calibrate || q->calibrate_samples))
    e = "--calibrate and --calibrate-samples go with --quantize=int8";
  else if (q->quantize && strcmp(q->quantize, "int8"))
    e = unknown;
  else if (q->quantize && (!cmd->emit || strcmp(cmd->emit, "inference")))
    e = "--quantize is an option of --emit=inference";
  else if (q->quantize && !q->calibrate && !(cmd->summary && !cmd->plan && !q->weights))
    e = "--quantize=int8 needs calibration data: --calibrate DIR (as the trainer's --data DIR)";
  if (!*e) return true;
  fprintf(stderr, "cnncc: %s\n", e);
  return false;
}

/* Fills cmd from argv; returns -1 to go on, else the exit status (after
 * --help, --version or a usage error). */
static int parse_command_line(int argc, char **argv, Command *cmd) {
  static const struct option options[] = {
      {"check", no_argument, NULL, 'c'},  {"summary", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},   {"version", no_argument, NULL, 'V'},
      {"emit", required_argument, NULL, 'E'}, {"output", required_argument, NULL, 'o'},
      {"dtype", required_argument, NULL, 'D'}, {"target", required_argument, NULL, 'T'},
      {"weights", required_argument, NULL, 'W'}, {"header", no_argument, NULL, 'H'},
      {"static-arena", no_argument, NULL, 'A'}, {"no-softmax", no_argument, NULL, 'S'},
      {"plan", no_argument, NULL, 'P'},   {"mpi", no_argument, NULL, 'M'},
      {"fold-batchnorm", no_argument, NULL, 'F'},
      {"quantize", required_argument, NULL, 'Q'}, {"calibrate", required_argument, NULL, 'C'},
      {"calibrate-samples", required_argument, NULL, 'N'},
      {NULL, 0, NULL, 0},
  };
  *cmd = (Command){.gen = {.dtype = CNN_DTYPE_FLOAT, .target = CNN_TARGET_NATIVE}};
  int opt;
  while ((opt = getopt_long(argc, argv, "cshVo:", options, NULL)) != -1) {
    switch (opt) {
    case 'c': cmd->check = true; break;
    case 's': cmd->summary = true; break;
    case 'P': cmd->plan = true; break;
    case 'h': usage(stdout); return 0;
    case 'V': print_version(); return 0;
    case 'E': cmd->emit = optarg; break;
    case 'o': cmd->output = optarg; break;
    case 'W': cmd->infer.weights = cmd->onnx.weights = optarg; break;
    case 'F': cmd->onnx.fold_batchnorm = true; break;
    case 'H': cmd->infer.header = true; break;
    case 'A': cmd->infer.static_arena = true; break;
    case 'S': cmd->infer.no_softmax = true; break;
    case 'D': if (!parse_dtype(optarg, &cmd->gen.dtype)) return 2; break;
    case 'T': if (!parse_target(optarg, &cmd->gen.target)) return 2; break;
    case 'M': cmd->gen.mpi = true; break;
    case 'Q': cmd->infer.quantize = optarg; break;
    case 'C': cmd->infer.calibrate = optarg; break;
    case 'N': if (!parse_samples(optarg, &cmd->infer.calibrate_samples)) return 2; break;
    default: fprintf(stderr, "Try 'cnncc --help' for more information.\n"); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "cnncc: %s\nTry 'cnncc --help' for more information.\n",
            optind == argc ? "no input file" : "more than one input file");
    return 2;
  }
  cmd->path = argv[optind];
  const char *e = cmd->emit;
  if (e && strcmp(e, "pytorch") && strcmp(e, "train") && strcmp(e, "inference") && strcmp(e, "dot") &&
      strcmp(e, "onnx")) {
    fprintf(stderr, "cnncc: unknown --emit '%s' (expected train, pytorch, inference, dot or onnx)\n", e);
    return 2;
  }
  if (e && !strcmp(e, "onnx") && !CNNCC_HAVE_ONNX) {
    fprintf(stderr, "cnncc: --emit=onnx: cnncc was built without protobuf-c (install "
                    "libprotobuf-c-dev and protobuf-c-compiler, then configure and build again)\n");
    return 2;
  }
  if (cmd->onnx.fold_batchnorm && !(e && !strcmp(e, "onnx"))) {
    fprintf(stderr, "cnncc: --fold-batchnorm is an option of --emit=onnx\n");
    return 2;
  }
  if (cmd->gen.mpi && ((e && strcmp(e, "train")) || cmd->gen.dtype == CNN_DTYPE_DOUBLE)) {
    fprintf(stderr, "cnncc: --mpi builds a float trainer (--emit=train)\n");
    return 2;
  }
  if (cmd->plan && e && (!strcmp(e, "pytorch") || !strcmp(e, "dot") || !strcmp(e, "onnx"))) {
    fprintf(stderr, "cnncc: --plan prints the plan of --emit=train or --emit=inference\n");
    return 2;
  }
  if (!check_quantize(cmd)) return 2;
  return -1;
}

static bool emits(const Command *cmd, const char *what) {
  return cmd->emit ? !strcmp(cmd->emit, what) : !strcmp(what, "train");
}

/* The stages after the front end, as the command asks for them. */
static int run_back_end(Command *cmd, const CnnNet *net) {
  if (cmd->summary) cnn_print_summary(stdout, net);
  if (cmd->summary && emits(cmd, "inference")) { /* the memory contract: no checkpoint needed */
    int status = cnn_print_inference_memory(stdout, net, &cmd->infer);
    if (status || (!cmd->plan && !cmd->infer.weights)) return status;
  }
  if (cmd->plan)
    return emits(cmd, "inference") ? cnn_print_inference_plan(net)
                                   : cnn_print_training_plan(stdout, net, &cmd->gen);
  if (emits(cmd, "pytorch")) return emit_text(net, cmd->path, cmd->output, "py", cnn_emit_pytorch_source);
  if (emits(cmd, "dot")) return emit_text(net, cmd->path, cmd->output, NULL, cnn_emit_dot);
  if (emits(cmd, "inference")) return cnn_emit_inference_file(net, cmd->path, cmd->output, &cmd->infer);
#if CNNCC_HAVE_ONNX
  if (emits(cmd, "onnx")) {
    cmd->onnx.source_file = strcmp(cmd->path, "-") ? cmd->path : "<stdin>";
    return cnn_emit_onnx_file(net, cmd->path, cmd->output, &cmd->onnx);
  }
#endif
  if (!cmd->output) return 0;
  cmd->gen.source_file = cmd->path;
  return cnn_write_output(net, cmd->output, &cmd->gen);
}

int main(int argc, char **argv) {
  Command cmd;
  int status = parse_command_line(argc, argv, &cmd);
  if (status >= 0) return status;
  char *made_output = NULL; /* never exit 0 having done nothing */
  if (emits(&cmd, "train") && !cmd.output && !cmd.check && !cmd.summary && !cmd.plan &&
      !(cmd.output = made_output = default_trainer(cmd.path)))
    return 2;
  size_t len;
  char *src = read_file(cmd.path, &len);
  CnnUnit *unit = src ? cnn_unit_new(strcmp(cmd.path, "-") ? cmd.path : "<stdin>", src, len) : NULL;
  const CnnNet *net = unit ? cnn_unit_compile(unit) : NULL;
  if (!src) {
    fprintf(stderr, "cnncc: cannot read '%s': %s\n", cmd.path, strerror(errno));
    status = 2;
  } else if (!unit) {
    fprintf(stderr, "cnncc: out of memory\n");
    status = 1;
  } else if (!net) {
    bool color = isatty(fileno(stderr)) && !getenv("NO_COLOR");
    cnn_diags_print(stderr, cnn_unit_diags(unit), color);
    status = 1;
  } else {
    status = run_back_end(&cmd, net);
  }
  cnn_unit_free(unit);
  free(src);
  free(made_output);
  return status;
}

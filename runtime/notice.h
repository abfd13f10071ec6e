/* notice.h - the lines after the first of `--version`, as GNU tools print
 * them, shared by cnncc (compiler/main.c) and every trainer it builds
 * (runtime/cli.c). The licence is the one in COPYING. Not installed. */
#ifndef CNNCC_NOTICE_H
#define CNNCC_NOTICE_H

#define CNNCC_VERSION_NOTICE                                              \
  "Copyright (C) 2026 the cnncc authors.\n"                               \
  "License MIT: <https://opensource.org/licenses/MIT>.\n"                 \
  "This is free software: you are free to change and redistribute it.\n" \
  "There is NO WARRANTY, to the extent permitted by law.\n"

#endif

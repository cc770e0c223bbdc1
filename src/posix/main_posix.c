/*
 * main_posix.c - process entry on Linux/POSIX: runs the application in the foreground
 * (systemd runs it as Type=exec; stop with SIGTERM).  All logic is in ds_app.c.
 */
#include "ds_app.h"

int main(int argc, char **argv) { return ds_app_main(argc, argv); }

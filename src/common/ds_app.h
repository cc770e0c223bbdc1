/*
 * ds_app.h - the application: command line, configuration, start and orderly stop of
 * inputs, ring, outputs and forwarders, and the periodic metrics event.
 *
 * Called once from the platform's main (or the Windows service main) on the main
 * thread; it returns the process exit code.
 */
#ifndef DS_APP_H
#define DS_APP_H

int ds_app_main(int argc, char **argv);

#endif

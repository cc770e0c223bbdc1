/*
 * main_win.c - process entry on Windows.  Runs in the console for now; the service
 * control dispatcher (StartServiceCtrlDispatcherW, falling back to the console on
 * error 1063) arrives with the Windows service work.  All logic is in ds_app.c.
 */
#include "ds_app.h"

int main(int argc, char **argv) { return ds_app_main(argc, argv); }

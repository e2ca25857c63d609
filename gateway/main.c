/* sipbridge: command line, then the daemon. Main thread = signalling
 * thread. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway/config.h"
#include "gateway/daemon.h"
#include "gateway/log.h"

int main(int argc, char **argv)
{
	g_autofree char *conf_path = NULL;
	gboolean check = FALSE, version = FALSE;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path,
		  "Configuration file (default " SB_CONFIG_DEFAULT_PATH ")", "FILE" },
		{ "check-config", 0, 0, G_OPTION_ARG_NONE, &check,
		  "Validate the configuration and exit (0 = valid)", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	g_autoptr(GOptionContext) oc = g_option_context_new("- SIP over WebSocket to SIP gateway");
	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_set_description(oc,
		"Runs in the foreground and logs to stderr. SIGTERM/SIGINT stop\n"
		"gracefully, SIGHUP reloads the configuration.\n");
	g_autoptr(GError) err = NULL;
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, "sipbridge: %s (try --help)\n", err->message);
		return 2;
	}
	if (version) {
		printf("sipbridge %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "sipbridge: unexpected argument '%s' (try --help)\n", argv[1]);
		return 2;
	}
	sb_log_init();
	const char *path = conf_path ? conf_path : SB_CONFIG_DEFAULT_PATH;
	g_autoptr(sb_config) cfg = sb_config_load(path, &err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err->message);
		return 1;
	}
	if (check) {
		g_autofree char *why = sb_config_startup_error(cfg);
		if (why) {
			fprintf(stderr, "%s: %s\n", path, why);
			return 1;
		}
		printf("%s: configuration OK\n", path);
		return 0;
	}
	return sb_daemon_run(cfg);
}

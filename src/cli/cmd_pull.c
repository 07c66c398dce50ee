/* cmd_pull.c: `gptc pull`: a model repository of the Hugging Face Hub into Hugging
 * Face's own cache (gptc_hub_pull); prints the snapshot directory (or JSON). */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc pull REPO [--revision R] [--include GLOB]... [--token T] [--cache-dir DIR] [--json]\n"
    "\n"
    "Downloads a model repository (NAME or ORG/NAME, optionally NAME@REVISION) from the\n"
    "Hugging Face Hub into its cache (the layout huggingface_hub and transformers use, so\n"
    "files they downloaded are shared) and prints the snapshot directory. Files already in\n"
    "the cache are not fetched again; an interrupted transfer is resumed; every file is\n"
    "checked against the Hub's checksum before it is used. Every --model option takes the\n"
    "same names and pulls what is missing (see docs/hub.md).\n"
    "\n"
    "  --revision R       branch, tag or commit (default: the name's @R, else main)\n"
    "  --include GLOB     only files matching GLOB (repeatable; '*' matches '/' too, 'dir/'\n"
    "                     a folder); default: *.json *.safetensors *.txt *.model *.tiktoken,\n"
    "                     so never pytorch_model.bin or other frameworks' weights unless asked\n"
    "  --token T          access token for private and gated repositories (default: $HF_TOKEN,\n"
    "                     else the file `hf auth login` writes)\n"
    "  --cache-dir DIR    the cache (default: $HF_HUB_CACHE, else $HF_HOME/hub, else\n"
    "                     ~/.cache/huggingface/hub)\n"
    "  --json             print {\"repo\", \"revision\", \"commit\", \"path\", \"files\", ...}\n"
    "\n"
    "environment: HF_ENDPOINT (another server, default https://huggingface.co), HF_TOKEN,\n"
    "HF_HUB_CACHE, HF_HOME, HF_HUB_OFFLINE=1 (no network: the cached snapshot or an error),\n"
    "HF_HUB_DOWNLOAD_TIMEOUT (seconds a stalled transfer waits, default 10)\n"
    "\n"
    "example:\n"
    "  gptc pull openai-community/gpt2 && gptc generate --model openai-community/gpt2 --prompt 'Hello'\n";

#define MAX_FILES 4096

typedef struct pull_state {
    cli_hub_state ui;
    int json;
    size_t n;
    struct { char *name; unsigned long long size; int cached; } files[MAX_FILES];
} pull_state;

static void on_event(void *user, const gptc_hub_event *ev) {
    pull_state *s = user;
    cli_hub_progress(&s->ui, ev);
    if (ev->kind == GPTC_HUB_FILE_DONE && s->n < MAX_FILES) {
        size_t len = strlen(ev->file) + 1;
        char *copy = gptc_alloc(NULL, len, "file name");
        if (!copy) return;
        memcpy(copy, ev->file, len);
        s->files[s->n].name = copy;
        s->files[s->n].size = (unsigned long long)ev->total;
        s->files[s->n].cached = ev->cached;
        s->n++;
    }
}

int cmd_pull(int argc, char **argv) {
    const char *repo = NULL, *revision = NULL, *token = NULL, *cache_dir = NULL, *glob;
    const char *include[256];
    size_t n_include = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) cli_help_check(argv, i, usage);
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--revision", &revision)) continue;
        if (cli_opt_str(argc, argv, &i, "--token", &token)) continue;
        if (cli_opt_str(argc, argv, &i, "--cache-dir", &cache_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--include", &glob)) {
            if (n_include == sizeof include / sizeof include[0]) cli_die("pull", NULL, "at most 256 --include globs");
            if (!glob[0]) cli_die("pull", NULL, "--include: an empty glob matches nothing");
            include[n_include++] = glob;
            continue;
        }
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (argv[i][0] == '-') cli_bad_option("pull", argv[i]);
        if (repo) cli_die("pull", NULL, "one repository at a time ('%s' and '%s')", repo, argv[i]);
        repo = argv[i];
    }
    if (!repo) {
        fprintf(stderr, "gptc pull: a repository name is required (e.g. openai-community/gpt2)\ntry `gptc pull --help`\n");
        return 2;
    }
    if (!gptc_hub_is_repo_name(repo))
        cli_die("pull", NULL, "'%s' is not a repository name (NAME or ORG/NAME, optionally @REVISION)", repo);
    if (revision && strchr(repo, '@')) cli_die("pull", NULL, "give the revision once: %s or --revision %s", repo, revision);

    static pull_state s;
    s.ui.cmd = "pull";
    s.ui.name = repo;
    s.json = json;
    gptc_hub_params hp = gptc_hub_default_params();
    hp.revision = revision;
    hp.token = token;
    hp.cache_dir = cache_dir;
    hp.include = n_include ? include : NULL;
    hp.n_include = n_include;
    hp.progress = on_event;
    hp.user = &s;
    gptc_ctx_params cp = gptc_ctx_default_params();
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    if (!ctx) cli_die("pull", NULL, "out of memory");
    gptc_hub_result r;
    if (gptc_hub_pull(ctx, repo, &hp, &r)) cli_die("pull", ctx, NULL);
    if (r.from_cache) fprintf(stderr, "pull: offline (HF_HUB_OFFLINE): %s@%s from the cache\n", r.repo, r.revision);
    else fprintf(stderr, "pull: %s@%s = %s: %zu files, %zu fetched (%llu bytes)\n", r.repo, r.revision, r.commit,
                 r.n_files, r.n_downloaded, (unsigned long long)r.bytes_downloaded);
    if (json) {
        printf("{\"repo\": ");
        cli_json_string(stdout, r.repo);
        printf(", \"revision\": ");
        cli_json_string(stdout, r.revision);
        printf(", \"commit\": \"%s\", \"path\": ", r.commit);
        cli_json_string(stdout, r.dir);
        printf(", \"offline\": %s, \"downloaded_files\": %zu, \"downloaded_bytes\": %llu, \"files\": [",
               r.from_cache ? "true" : "false", r.n_downloaded, (unsigned long long)r.bytes_downloaded);
        for (size_t i = 0; i < s.n; i++) {
            printf("%s{\"name\": ", i ? ", " : "");
            cli_json_string(stdout, s.files[i].name);
            printf(", \"size\": %llu, \"cached\": %s}", s.files[i].size, s.files[i].cached ? "true" : "false");
        }
        printf("]}\n");
    } else printf("%s\n", r.dir);
    for (size_t i = 0; i < s.n; i++) gptc_free(s.files[i].name);
    gptc_ctx_free(ctx);
    return 0;
}

/* libFuzzer target for the X-Passenger-Instance-Registry-Dir header: its value, then the
 * directories the configuration yields, one per line after a NUL (papi_registry_header_error,
 * papi_registry_match). An accepted value is an absolute, printable path of bounded length with no
 * ".." segment; what it matches is always some of the directories it was matched against, in
 * their order, and a value without glob characters matches at most itself. Nothing touches the
 * filesystem. */
#include <string.h>

#include <apr_strings.h>

#include "papi_fuzz.h"
#include "papi_registry.h"

static void check_value(const char *value)
{
    const char *seg, *c;

    CHECK(value[0] == '/');
    CHECK(strlen(value) + PAPI_CORE_SOCKET_SUFFIX_MAX <= PAPI_SUN_PATH_MAX);
    for (c = value; *c; c++)
        CHECK(*c >= 0x20 && *c < 0x7f && *c != '\\');
    for (seg = value; seg; seg = strchr(seg + 1, '/')) {
        size_t n = strcspn(seg + 1, "/");
        CHECK(!(n == 2 && seg[1] == '.' && seg[2] == '.'));
    }
}

/* The value with its trailing slashes dropped, as the match sees it. */
static const char *trimmed(apr_pool_t *p, const char *value)
{
    size_t n = strlen(value);

    while (n > 1 && value[n - 1] == '/')
        n--;
    return apr_pstrndup(p, value, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *text, *lines, *line, *last;
    apr_array_header_t *dirs, *kept;
    int i, j;

    apr_pool_create(&p, root);
    text = apr_pstrmemdup(p, (const char *)data, size);
    lines = text + strlen(text) + (strlen(text) < size);
    dirs = apr_array_make(p, 8, sizeof(const char *));
    for (line = apr_strtok(lines, "\n", &last); line; line = apr_strtok(NULL, "\n", &last))
        APR_ARRAY_PUSH(dirs, const char *) = line;
    if (papi_registry_header_error(p, text) == NULL) {
        check_value(text);
        kept = papi_registry_match(p, dirs, text);
        for (i = 0, j = 0; i < kept->nelts; i++, j++) {
            const char *dir = APR_ARRAY_IDX(kept, i, const char *);
            while (j < dirs->nelts && APR_ARRAY_IDX(dirs, j, const char *) != dir)
                j++;
            CHECK(j < dirs->nelts);
            if (!strpbrk(text, "*?[\\"))
                CHECK(!strcmp(dir, trimmed(p, text)));
        }
    }
    apr_pool_destroy(p);
    return 0;
}

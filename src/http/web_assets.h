/* web_assets.h - the web page's files (web/), embedded into the binary at build time by
 * scripts/embed (mk/web.mk), served by routes_web.c. Constant: read from any thread. */
#ifndef VAS_WEB_ASSETS_H
#define VAS_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
    const char *name;          /* the file's base name in web/: "index.html", "app.js" */
    const unsigned char *data; /* its bytes, then a NUL not counted in size */
    size_t size;
} web_asset;

/* Every embedded file, ended by an entry whose name is NULL. */
extern const web_asset web_assets[];

#endif

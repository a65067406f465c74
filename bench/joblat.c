/* joblat.c - bench/http's helper.
 *
 * joblat BASE_URL FILE_ID N
 *   job latency: POST /analysis (sleep, time=0), then GET /analysis/<id> in a tight loop on the
 *   same keep-alive connection until the first 200. Prints one line per job,
 *   "job <i> <ms> <analysis_id> polls=<n>", then "median_ms", "min_ms", "max_ms", "polls_median"
 *   and "last_id <id>". Exit 1 on any error, or when one job takes more than 30 s (the bench
 *   must stay bounded).
 * joblat rss PID
 *   samples VmRSS of PID every 10 ms until SIGTERM (or PID ends, or 120 s pass), then prints the
 *   largest value seen, in kB. One pread of /proc/PID/status a sample; no process per sample.
 *
 * Built by bench/http:
 *   cc -O2 -o build/bench/joblat bench/joblat.c $(pkg-config --cflags --libs libcurl jansson) */
#include <curl/curl.h>
#include <jansson.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    buf *b = arg;
    size_t k = size * nmemb;

    if (b->n + k + 1 > b->cap) {
        size_t cap = (b->n + k + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, k);
    b->n += k;
    b->p[b->n] = '\0';
    return k;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

/* One request on the shared handle; the body lands in b, the status in *status. */
static int perform(CURL *h, const char *url, const char *post, buf *b, long *status)
{
    CURLcode rc;

    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "joblat: %s: %s\n", url, curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int rss_main(const char *pid)
{
    char path[64], text[4096];
    struct sigaction sa = {0};
    struct timespec tick = {0, 10 * 1000 * 1000};
    long max = 0;
    double t0 = now_ms();
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/status", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (!stop && now_ms() - t0 < 120000) {
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
        const char *p;
        if (n <= 0)
            break; /* the process ended */
        text[n] = '\0';
        p = strstr(text, "\nVmRSS:");
        if (p) {
            long kb = strtol(p + 8, NULL, 10);
            if (kb > max)
                max = kb;
        }
        nanosleep(&tick, NULL); /* EINTR on SIGTERM: the loop ends at once */
    }
    printf("%ld\n", max);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    char url[512], post[256], id[64] = "";
    buf b = {0};
    long status = 0;
    double *lat;
    long *polls;
    int n = 0;
    CURL *h;

    if (argc == 3 && !strcmp(argv[1], "rss"))
        return rss_main(argv[2]);
    if (argc == 4)
        n = (int)strtol(argv[3], NULL, 10);
    if (argc != 4 || n <= 0 || n > 100000) {
        fprintf(stderr, "usage: joblat BASE_URL FILE_ID N | joblat rss PID\n");
        return 2;
    }
    lat = calloc((size_t)n, sizeof(*lat));
    polls = calloc((size_t)n, sizeof(*polls));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    if (!lat || !polls || !h)
        return 1;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    snprintf(post, sizeof(post), "analysis=sleep&time=0&file_id=%s", argv[2]);
    for (int i = 0; i < n; i++) {
        json_t *j;
        const char *aid;
        double t0 = now_ms();

        snprintf(url, sizeof(url), "%s/analysis", argv[1]);
        if (perform(h, url, post, &b, &status) < 0)
            return 1;
        j = json_loads(b.p ? b.p : "", 0, NULL);
        aid = j ? json_string_value(json_object_get(j, "analysis_id")) : NULL;
        if (status != 202 || !aid) {
            fprintf(stderr, "joblat: POST /analysis answered %ld: %s\n", status, b.p ? b.p : "");
            return 1;
        }
        snprintf(id, sizeof(id), "%s", aid);
        json_decref(j);
        snprintf(url, sizeof(url), "%s/analysis/%s", argv[1], id);
        for (;;) {
            if (perform(h, url, NULL, &b, &status) < 0)
                return 1;
            polls[i]++;
            if (status == 200)
                break;
            if (status != 202) {
                fprintf(stderr, "joblat: GET %s answered %ld: %s\n", url, status, b.p ? b.p : "");
                return 1;
            }
            if (now_ms() - t0 > 30000) {
                fprintf(stderr, "joblat: job %s not done after 30 s\n", id);
                return 1;
            }
        }
        lat[i] = now_ms() - t0;
        printf("job %d %.3f %s polls=%ld\n", i + 1, lat[i], id, polls[i]);
    }
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    qsort(polls, (size_t)n, sizeof(*polls), cmp_long);
    printf("median_ms %.3f\n", n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2);
    printf("min_ms %.3f\nmax_ms %.3f\n", lat[0], lat[n - 1]);
    printf("polls_median %ld\n", polls[n / 2]);
    printf("last_id %s\n", id);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    free(b.p);
    free(lat);
    free(polls);
    return 0;
}

/* queue.c - bench/queue's driver: job throughput of one running `vas serve`.
 *
 * queue-drv BASE_URL FILE_ID N CONC
 *   POSTs N `sleep time=0` analyses of FILE_ID on CONC keep-alive connections at once (libcurl
 *   multi, one thread), while one more connection polls GET /metrics back to back for
 *   vas_jobs{state="SUCCESS"}. Prints
 *     posted <N> <seconds from the first POST sent to the last 202 received>
 *     done <N> <seconds from the first POST sent to the poll that saw all N succeed>
 *   Exit 1 on a non-202 answer, a job that fails (vas_jobs{state="FAILURE"} grows), or when the
 *   jobs are not all done within 600 s (the bench must stay bounded).
 *
 * Built by bench/queue:
 *   cc -O2 -o build/bench/queue-drv bench/queue.c $(pkg-config --cflags --libs libcurl) */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONC  64
#define BODY_MAX  (256 << 10) /* /metrics is a few KiB */
#define TIMEOUT_S 600.0

typedef struct conn {
    CURL *c;
    char body[BODY_MAX]; /* the last answer's body (truncated) */
    size_t n;
} conn;

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    conn *k = arg;
    size_t len = size * nmemb, room = sizeof(k->body) - 1 - k->n;

    if (len < room)
        room = len;
    memcpy(k->body + k->n, data, room);
    k->n += room;
    k->body[k->n] = '\0';
    return len;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The value of the metrics line starting with name, or -1. */
static long long metric(const char *text, const char *name)
{
    const char *p = strstr(text, name);

    return p ? strtoll(p + strlen(name), NULL, 10) : -1;
}

static void arm(CURLM *m, conn *k, const char *url, const char *post)
{
    curl_multi_remove_handle(m, k->c);
    k->n = 0;
    k->body[0] = '\0';
    curl_easy_setopt(k->c, CURLOPT_URL, url);
    if (post)
        curl_easy_setopt(k->c, CURLOPT_POSTFIELDS, post);
    curl_multi_add_handle(m, k->c);
}

static conn *conn_new(void)
{
    conn *k = calloc(1, sizeof(*k));

    if (!k || !(k->c = curl_easy_init())) {
        fprintf(stderr, "queue-drv: out of memory\n");
        exit(1);
    }
    curl_easy_setopt(k->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k->c, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(k->c, CURLOPT_PRIVATE, k);
    curl_easy_setopt(k->c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(k->c, CURLOPT_NOSIGNAL, 1L);
    return k;
}

static const char success_name[] = "vas_jobs{state=\"SUCCESS\"} ";
static const char failure_name[] = "vas_jobs{state=\"FAILURE\"} ";

/* GET /metrics once (blocking); the SUCCESS and FAILURE counts. */
static int read_counts(conn *k, const char *url, long long *ok, long long *bad)
{
    k->n = 0;
    curl_easy_setopt(k->c, CURLOPT_URL, url);
    if (curl_easy_perform(k->c) != CURLE_OK)
        return -1;
    *ok = metric(k->body, success_name);
    *bad = metric(k->body, failure_name);
    return *ok < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    char post[256], url_post[512], url_metrics[512];
    long long n, conc, posted = 0, answered = 0, ok0, bad0, ok = 0, bad = 0;
    double t0, t_posted = 0, t_done = 0;
    conn *k[MAX_CONC], *poll;
    CURLM *m;

    if (argc != 5 || (n = strtoll(argv[3], NULL, 10)) <= 0 ||
        (conc = strtoll(argv[4], NULL, 10)) <= 0 || conc > MAX_CONC) {
        fprintf(stderr, "usage: queue-drv BASE_URL FILE_ID N CONC (CONC <= %d)\n", MAX_CONC);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(post, sizeof(post), "analysis=sleep&time=0&file_id=%s", argv[2]);
    snprintf(url_post, sizeof(url_post), "%s/analysis", argv[1]);
    snprintf(url_metrics, sizeof(url_metrics), "%s/metrics", argv[1]);
    m = curl_multi_init();
    poll = conn_new();
    if (read_counts(poll, url_metrics, &ok0, &bad0) < 0) {
        fprintf(stderr, "queue-drv: GET %s failed or has no %s\n", url_metrics, success_name);
        return 1;
    }
    t0 = now_s();
    for (long long i = 0; i < conc && posted < n; i++, posted++)
        arm(m, k[i] = conn_new(), url_post, post);
    arm(m, poll, url_metrics, NULL);
    while (!t_done || !t_posted) {
        int running, left;
        CURLMsg *msg;

        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
        while ((msg = curl_multi_info_read(m, &left))) {
            conn *c = NULL;
            long status = 0;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (c == poll) {
                ok = metric(c->body, success_name) - ok0;
                bad = metric(c->body, failure_name) - bad0;
                if (ok >= n)
                    t_done = now_s(); /* the last 202 may still be on its way */
                else
                    arm(m, poll, url_metrics, NULL);
            } else if (status != 202) {
                fprintf(stderr, "queue-drv: POST /analysis answered %ld: %s\n", status, c->body);
                return 1;
            } else if (++answered == n) {
                t_posted = now_s();
                curl_multi_remove_handle(m, c->c);
            } else if (posted < n) {
                posted++;
                arm(m, c, url_post, post);
            } else {
                curl_multi_remove_handle(m, c->c);
            }
        }
        if (bad > 0 || now_s() - t0 > TIMEOUT_S) {
            fprintf(stderr, "queue-drv: %lld failed, %lld of %lld done after %.1f s\n", bad, ok, n,
                    now_s() - t0);
            return 1;
        }
    }
    printf("posted %lld %.6f\ndone %lld %.6f\n", n, t_posted - t0, n, t_done - t0);
    return 0; /* the process ends here: the handles go with it */
}

// Open-loop HTTP/1.1 load at a fixed rate, in C: the same measurement as bench/load.mjs
// (every request has a scheduled send time and its latency counts from then, so a stall
// shows in the tail instead of slowing the sender: no coordinated omission, as wrk2
// measures), without a JavaScript runtime of its own on the 2 cores the server under test
// shares. A load generator's own pauses (its GC, its timers' granularity) land in the
// tail it reports; this one has none of the first and a timerfd for the second.
//
//   rategen HOST PORT RATE SECONDS WARMUP_SECONDS CONNECTIONS METHOD PATHS_FILE [BODY_FILE]
//
// PATHS_FILE: one request path per line, used in turn. BODY_FILE: sent with
// content-type application/json. Responses must carry Content-Length (runbox's JSON
// answers do); anything else counts as an error. Prints one JSON line with the same
// fields as bench/load.mjs: rate, requests, errors, statuses, achieved_rps, p50_ms,
// p90_ms, p99_ms, max_ms.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define INBUF 65536

struct conn {
  int fd;
  long index; /* request in flight, -1 when idle */
  size_t used;
  char in[INBUF];
};

static struct sockaddr_in addr;
static char *host_header;
static const char *method;
static char **paths;
static long npaths;
static char *body;
static size_t body_len;
static double start_ns, interval_ns;
static long total, warmup, done_count, errors;
static double *latencies;
static long nlat;
static long statuses[600];

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static int connect_one(int epfd, struct conn *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  c->fd = fd;
  c->index = -1;
  c->used = 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  return fd;
}

static void send_request(struct conn *c, long index) {
  const char *path = paths[index % npaths];
  char head[4096];
  int n = body ? snprintf(head, sizeof head,
                          "%s %s HTTP/1.1\r\nHost: %s\r\ncontent-type: application/json\r\n"
                          "content-length: %zu\r\n\r\n",
                          method, path, host_header, body_len)
               : snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method, path,
                          host_header);
  if (n <= 0 || (size_t)n >= sizeof head) {
    fprintf(stderr, "request head too long\n");
    exit(2);
  }
  /* Small requests on a keep-alive socket with nothing else queued: one blocking write. */
  struct iovec iov[2] = {{head, (size_t)n}, {body, body ? body_len : 0}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = body ? 2 : 1};
  size_t want = (size_t)n + (body ? body_len : 0);
  ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
  if (w != (ssize_t)want) die("sendmsg (short write)");
  c->index = index;
}

static void record(struct conn *c, int status) {
  double scheduled = start_ns + (double)c->index * interval_ns;
  if (c->index >= warmup) latencies[nlat++] = (now_ns() - scheduled) / 1e6;
  if (status >= 0 && status < 600) statuses[status] += 1;
  else errors += 1;
  done_count += 1;
  c->index = -1;
}

/* A whole response at the front of c->in: its length, 0 if incomplete, -1 if unusable. */
static long parse_response(struct conn *c, int *status) {
  char *end = memmem(c->in, c->used, "\r\n\r\n", 4);
  if (!end) return c->used == INBUF ? -1 : 0;
  size_t head_len = (size_t)(end - c->in) + 4;
  if (c->used < 12 || strncmp(c->in, "HTTP/1.1 ", 9) != 0) return -1;
  *status = atoi(c->in + 9);
  long content_length = -1;
  for (char *line = memchr(c->in, '\n', head_len); line && line < end;
       line = memchr(line + 1, '\n', (size_t)(end - line))) {
    if (strncasecmp(line + 1, "content-length:", 15) == 0) content_length = atol(line + 16);
  }
  if (content_length < 0) return -1;
  size_t whole = head_len + (size_t)content_length;
  if (whole > INBUF) return -1;
  return c->used >= whole ? (long)whole : 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank, as bench/lib/stats.mjs's quantile. */
static double quantile(double q) {
  if (nlat == 0) return 0;
  long rank = (long)ceil(q * (double)nlat) - 1;
  if (rank < 0) rank = 0;
  if (rank >= nlat) rank = nlat - 1;
  return latencies[rank];
}

static char *read_file(const char *name, size_t *len) {
  FILE *f = fopen(name, "rb");
  if (!f) die(name);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)size + 1);
  if (fread(data, 1, (size_t)size, f) != (size_t)size) die("fread");
  data[size] = 0;
  fclose(f);
  *len = (size_t)size;
  return data;
}

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr,
            "usage: rategen HOST PORT RATE SECONDS WARMUP_SECONDS CONNECTIONS METHOD PATHS_FILE "
            "[BODY_FILE]\n");
    return 2;
  }
  double rate = atof(argv[3]), seconds = atof(argv[4]), warmup_seconds = atof(argv[5]);
  int nconns = atoi(argv[6]);
  method = argv[7];
  if (rate <= 0 || seconds <= 0 || warmup_seconds < 0 || nconns <= 0) {
    fprintf(stderr, "RATE, SECONDS and CONNECTIONS must be positive, WARMUP_SECONDS >= 0\n");
    return 2;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "HOST must be an IPv4 address, got %s\n", argv[1]);
    return 2;
  }
  if (asprintf(&host_header, "%s:%s", argv[1], argv[2]) < 0) die("asprintf");
  size_t paths_len;
  char *all = read_file(argv[8], &paths_len);
  paths = malloc(sizeof(char *) * (paths_len + 1));
  for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) paths[npaths++] = line;
  if (npaths == 0) {
    fprintf(stderr, "no paths in %s\n", argv[8]);
    return 2;
  }
  if (argc > 9) body = read_file(argv[9], &body_len);

  interval_ns = 1e9 / rate;
  warmup = (long)(warmup_seconds * rate + 0.5);
  total = warmup + (long)(seconds * rate + 0.5);
  latencies = malloc(sizeof(double) * (size_t)total);
  long *queue = malloc(sizeof(long) * (size_t)total);
  long qhead = 0, qtail = 0;

  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  struct conn *conns = calloc((size_t)nconns, sizeof(struct conn));
  for (int i = 0; i < nconns; i++) connect_one(epfd, &conns[i]);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tfd < 0) die("timerfd_create");
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev) < 0) die("epoll_ctl timer");

  start_ns = now_ns() + 20e6;
  long scheduled = 0;
  struct epoll_event events[256];
  while (done_count < total) {
    double now = now_ns();
    long due = now < start_ns ? 0 : (long)((now - start_ns) / interval_ns) + 1;
    if (due > total) due = total;
    while (scheduled < due) queue[qtail++] = scheduled++;
    for (int i = 0; i < nconns && qhead < qtail; i++) {
      if (conns[i].index < 0) send_request(&conns[i], queue[qhead++]);
    }
    if (scheduled < total) {
      double next = start_ns + (double)scheduled * interval_ns;
      struct itimerspec when = {0};
      when.it_value.tv_sec = (time_t)(next / 1e9);
      when.it_value.tv_nsec = (long)(next - (double)when.it_value.tv_sec * 1e9);
      if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0) when.it_value.tv_nsec = 1;
      if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &when, NULL) < 0) die("timerfd_settime");
    }
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      struct conn *c = events[e].data.ptr;
      if (!c) {
        uint64_t ticks;
        (void)!read(tfd, &ticks, sizeof ticks);
        continue;
      }
      ssize_t r = read(c->fd, c->in + c->used, INBUF - c->used);
      if (r <= 0) {
        /* The server closed it (or failed): the request in flight is an error. */
        if (c->index >= 0) record(c, -1);
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        connect_one(epfd, c);
        continue;
      }
      c->used += (size_t)r;
      for (;;) {
        int status = 0;
        long whole = parse_response(c, &status);
        if (whole == 0) break;
        if (whole < 0 || c->index < 0) {
          fprintf(stderr, "unusable response (no content-length, too large, or unasked)\n");
          return 2;
        }
        record(c, status);
        memmove(c->in, c->in + whole, c->used - (size_t)whole);
        c->used -= (size_t)whole;
        if (qhead < qtail) send_request(c, queue[qhead++]);
      }
    }
  }
  double measured = (now_ns() - (start_ns + (double)warmup * interval_ns)) / 1e9;
  qsort(latencies, (size_t)nlat, sizeof(double), cmp_double);
  printf("{\"rate\":%g,\"requests\":%ld,\"errors\":%ld,\"statuses\":{", rate, nlat, errors);
  int first = 1;
  for (int s = 0; s < 600; s++) {
    if (statuses[s] == 0) continue;
    printf("%s\"%d\":%ld", first ? "" : ",", s, statuses[s]);
    first = 0;
  }
  printf("},\"achieved_rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
         (double)nlat / measured, quantile(0.5), quantile(0.9), quantile(0.99),
         nlat ? latencies[nlat - 1] : 0.0);
  return 0;
}

// SSE fan-out client for scripts/bench-scale-engine: opens N event streams of one workflow,
// measures the servers' memory and idle CPU with all of them open, then cancels the
// workflow through the API (possibly on another instance) and timestamps the "cancelled"
// status event on every stream. One epoll thread, non-blocking sockets, no libraries.
//
// Usage: sse_client HOST STREAM_PORT WORKFLOW_ID TOKEN N TRIGGER_PORT PIDS [IDLE_S] [TIMEOUT_S]
//   PIDS: comma-separated server process ids whose VmRSS and CPU time are reported.
// Prints key=value lines (times in milliseconds), for the script to read.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kConnecting, kWaiting, kReady, kDone, kFailed };

typedef struct {
  int fd;
  int state;
  int header_seen;
  char tail[32];  // the last bytes of the previous read, for matches across reads
  size_t tail_len;
  double done_ms;  // receipt of "cancelled", from the trigger
} Conn;

static double NowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int CmpDouble(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static long RssKb(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  }
  fclose(f);
  return kb;
}

// utime + stime of a process, in clock ticks.
static long CpuTicks(int pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  long v[20] = {0};
  // fields after ")": state(3) ppid(4) ... utime(14) stime(15)
  int field = 3;
  for (char* tok = strtok(p + 2, " "); tok && field <= 15; tok = strtok(NULL, " "), ++field) {
    if (field >= 14) v[field - 14] = strtol(tok, NULL, 10);
  }
  return v[0] + v[1];
}

static int Connect(const char* host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// Searches `needle` in the previous tail plus `data`; keeps the new tail.
static int Seen(Conn* c, const char* data, size_t n, const char* needle) {
  char buf[32 + 65536];
  memcpy(buf, c->tail, c->tail_len);
  memcpy(buf + c->tail_len, data, n);
  size_t len = c->tail_len + n;
  buf[len] = 0;
  return memmem(buf, len, needle, strlen(needle)) != NULL;
}

static void KeepTail(Conn* c, const char* data, size_t n) {
  char buf[32 + 65536];
  memcpy(buf, c->tail, c->tail_len);
  memcpy(buf + c->tail_len, data, n);
  size_t len = c->tail_len + n;
  size_t keep = len < 24 ? len : 24;
  memcpy(c->tail, buf + len - keep, keep);
  c->tail_len = keep;
}

int main(int argc, char** argv) {
  if (argc < 8) {
    fprintf(stderr,
            "usage: %s HOST STREAM_PORT WORKFLOW_ID TOKEN N TRIGGER_PORT PIDS [IDLE_S] "
            "[TIMEOUT_S]\n",
            argv[0]);
    return 2;
  }
  const char* host = argv[1];
  const int port = atoi(argv[2]);
  const char* wf = argv[3];
  const char* token = argv[4];
  const int n = atoi(argv[5]);
  const int trigger_port = atoi(argv[6]);
  int pids[8], npids = 0;
  for (char* tok = strtok(argv[7], ","); tok && npids < 8; tok = strtok(NULL, ","))
    pids[npids++] = atoi(tok);
  const double idle_s = argc > 8 ? atof(argv[8]) : 5;
  const double timeout_s = argc > 9 ? atof(argv[9]) : 60;

  char req[1024];
  const int req_len = snprintf(req, sizeof req,
                               "GET /api/v1/workflows/%s/events HTTP/1.1\r\nHost: %s:%d\r\n"
                               "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                               wf, host, port, token);
  Conn* conns = calloc(n + 1, sizeof(Conn));
  for (int i = 0; i <= n; ++i) conns[i].fd = -1;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event evs[1024];
  static char rbuf[65536];

  // Phase 1: open every stream, at most kInFlight waiting at once.
  const int kInFlight = 256;
  int opened = 0, waiting = 0, ready = 0, failed = 0, first_fail_status = 0;
  const double open_start = NowMs();
  while (ready + failed < n) {
    while (opened < n && waiting < kInFlight) {
      Conn* c = &conns[opened];
      c->fd = Connect(host, port);
      if (c->fd < 0) {
        c->state = kFailed;
        ++failed;
        ++opened;
        continue;
      }
      c->state = kConnecting;
      struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)opened};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
      ++opened;
      ++waiting;
    }
    if (NowMs() - open_start > timeout_s * 1e3 * 4) break;
    int k = epoll_wait(ep, evs, 1024, 1000);
    for (int i = 0; i < k; ++i) {
      Conn* c = &conns[evs[i].data.u32];
      if (c->state == kConnecting && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || write(c->fd, req, req_len) != req_len) {
          c->state = kFailed;
          ++failed;
          --waiting;
          close(c->fd), c->fd = -1;
          continue;
        }
        c->state = kWaiting;
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        continue;
      }
      if (c->state != kWaiting && c->state != kReady) continue;
      ssize_t r = read(c->fd, rbuf, sizeof rbuf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        if (c->state == kWaiting) --waiting;
        if (c->state == kReady) --ready;
        c->state = kFailed;
        ++failed;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd), c->fd = -1;
        continue;
      }
      if (!c->header_seen) {
        c->header_seen = 1;
        if (r < 12 || memcmp(rbuf, "HTTP/1.1 200", 12) != 0) {
          if (!first_fail_status && r >= 12) first_fail_status = atoi(rbuf + 9);
          --waiting;
          c->state = kFailed;
          ++failed;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd), c->fd = -1;
          continue;
        }
      }
      if (c->state == kWaiting && Seen(c, rbuf, r, "\"queued\"")) {
        c->state = kReady;
        --waiting;
        ++ready;
      }
      KeepTail(c, rbuf, r);
    }
  }
  const double open_ms = NowMs() - open_start;
  printf("streams_ready=%d\nstreams_failed=%d\nfirst_fail_status=%d\nopen_ms=%.0f\n", ready, failed,
         first_fail_status, open_ms);
  fflush(stdout);

  // Phase 2: all open and idle for idle_s: memory and CPU of the servers (keepalives read).
  long cpu0[8];
  for (int p = 0; p < npids; ++p) cpu0[p] = CpuTicks(pids[p]);
  const double idle_start = NowMs();
  while (NowMs() - idle_start < idle_s * 1e3) {
    int k = epoll_wait(ep, evs, 1024, 200);
    for (int i = 0; i < k; ++i) {
      Conn* c = &conns[evs[i].data.u32];
      if (c->state != kReady) continue;
      ssize_t r = read(c->fd, rbuf, sizeof rbuf);
      if (r > 0) KeepTail(c, rbuf, r);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        c->state = kFailed;
        --ready;
        ++failed;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd), c->fd = -1;
      }
    }
  }
  const double idle_ms = NowMs() - idle_start;
  const long hz = sysconf(_SC_CLK_TCK);
  for (int p = 0; p < npids; ++p) {
    const long cpu1 = CpuTicks(pids[p]);
    printf("server%d_rss_kb=%ld\nserver%d_idle_cpu_pct=%.1f\n", p, RssKb(pids[p]), p,
           100.0 * (cpu1 - cpu0[p]) / hz / (idle_ms / 1e3));
  }
  fflush(stdout);

  // Phase 3: cancel the workflow, timestamp "cancelled" on every ready stream.
  int tfd = Connect(host, trigger_port);
  {
    int flags = fcntl(tfd, F_GETFL);
    fcntl(tfd, F_SETFL, flags & ~O_NONBLOCK);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(trigger_port);
    inet_pton(AF_INET, host, &a.sin_addr);
    // connect() was started non-blocking; finish it by waiting for writability.
    struct epoll_event e = {.events = EPOLLOUT, .data.u32 = (uint32_t)n};
    int tep = epoll_create1(EPOLL_CLOEXEC);
    epoll_ctl(tep, EPOLL_CTL_ADD, tfd, &e);
    epoll_wait(tep, evs, 1, 5000);
    close(tep);
  }
  char post[1024];
  const int post_len =
      snprintf(post, sizeof post,
               "POST /api/v1/workflows/%s/cancel HTTP/1.1\r\nHost: %s:%d\r\n"
               "Authorization: Bearer %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
               wf, host, trigger_port, token);
  conns[n].fd = tfd;
  conns[n].state = kWaiting;
  const double t0 = NowMs();
  if (write(tfd, post, post_len) != post_len) {
    printf("trigger_error=write failed\n");
    return 1;
  }
  struct epoll_event te = {.events = EPOLLIN, .data.u32 = (uint32_t)n};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te);
  double trigger_ms = -1;
  int trigger_status = 0;
  int received = 0;
  double* lat = calloc(n + 1, sizeof(double));
  while ((received < ready || trigger_ms < 0) && NowMs() - t0 < timeout_s * 1e3) {
    int k = epoll_wait(ep, evs, 1024, 200);
    const double now = NowMs();
    for (int i = 0; i < k; ++i) {
      const uint32_t idx = evs[i].data.u32;
      Conn* c = &conns[idx];
      ssize_t r = read(c->fd, rbuf, sizeof rbuf);
      if (idx == (uint32_t)n) {
        if (r > 12 && trigger_ms < 0) {
          trigger_ms = now - t0;
          trigger_status = atoi(rbuf + 9);
        }
        if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd), c->fd = -1;
        }
        continue;
      }
      if (c->state != kReady) {
        if (r == 0) {
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd), c->fd = -1;
        }
        continue;
      }
      if (r > 0 && Seen(c, rbuf, r, "\"cancelled\"")) {
        c->state = kDone;
        c->done_ms = now - t0;
        lat[received++] = c->done_ms;
        continue;  // the server closes it; the close is read above
      }
      if (r > 0) KeepTail(c, rbuf, r);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        c->state = kFailed;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd), c->fd = -1;
      }
    }
  }
  qsort(lat, received, sizeof(double), CmpDouble);
  printf("trigger_status=%d\ntrigger_ms=%.2f\nreceived=%d\n", trigger_status, trigger_ms, received);
  if (received > 0) {
    printf("first_ms=%.2f\np50_ms=%.2f\np99_ms=%.2f\nmax_ms=%.2f\n", lat[0],
           lat[(received - 1) / 2], lat[(int)((received - 1) * 0.99)], lat[received - 1]);
  }
  for (int i = 0; i < n; ++i)
    if (conns[i].fd >= 0) close(conns[i].fd);
  return received == ready && ready == n ? 0 : 1;
}

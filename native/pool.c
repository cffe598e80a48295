/* Persistent thread pool for the native kernels.
 * n - 1 worker threads plus the calling thread. A job is published by bumping a generation
 * counter; workers spin on it for 2 ms (back-to-back kernels of a training or decode step
 * arrive microseconds apart) and then sleep on a futex, so an idle pool costs nothing.
 * Tasks are handed out by an atomic counter; the caller works too and then waits for the
 * workers it enlisted. One job at a time: a call that finds the pool busy (another JS thread)
 * runs its tasks serially instead of waiting. */
#define _GNU_SOURCE
#include "vn.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#define VN_MAX_THREADS 255
/* how long an idle worker spins before it sleeps: longer than the gap between two kernels of a
 * decode step (the JS between two weight products, tens of microseconds), so a worker is awake
 * when the next product starts; a count of pause instructions would be 15 us on one CPU and
 * 500 us on another, so the window is measured on the clock */
#define SPIN_NS 2000000LL

static pthread_mutex_t g_resize = PTHREAD_MUTEX_INITIALIZER;
static int g_created;        /* worker threads started */
static int g_threads = 1;    /* threads used per job, caller included */

static vn_task_fn g_fn;
static void *g_ctx;
static int64_t g_ntasks;
static _Atomic int64_t g_next;
static _Atomic int g_pending;
/* (job sequence << 8) | enlisted workers: one word, so a worker reads both consistently */
static _Atomic unsigned g_gen;
static _Atomic int g_sleepers;
static atomic_flag g_busy = ATOMIC_FLAG_INIT;
/* the generation current when each worker was created: a worker that read g_gen only once it ran
 * would miss a job published between pthread_create and its first instruction, and the caller
 * would wait for it forever */
static unsigned g_start_gen[VN_MAX_THREADS];

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic unsigned *addr, unsigned val) {
#if defined(__linux__)
  syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
  (void)addr; (void)val;
  usleep(100); /* no futex: poll gently */
#endif
}

static void futex_wake_all(_Atomic unsigned *addr) {
#if defined(__linux__)
  syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
  (void)addr;
#endif
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void run_tasks(void) {
  for (;;) {
    int64_t i = atomic_fetch_add_explicit(&g_next, 1, memory_order_relaxed);
    if (i >= g_ntasks) break;
    g_fn(g_ctx, i);
  }
}

static void *worker_main(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned seen = g_start_gen[id]; /* written before pthread_create, which orders it before us */
  for (;;) {
    unsigned g;
    int64_t spin_until = now_ns() + SPIN_NS;
    for (unsigned spins = 1; (g = atomic_load_explicit(&g_gen, memory_order_acquire)) == seen; spins++) {
      if ((spins & 63) || now_ns() < spin_until) {
        cpu_relax();
        continue;
      }
      atomic_fetch_add(&g_sleepers, 1);
      futex_wait(&g_gen, seen);
      atomic_fetch_sub(&g_sleepers, 1);
      spin_until = now_ns() + SPIN_NS;
    }
    seen = g;
    if (id < (int)(g & 0xff)) {
      run_tasks();
      atomic_fetch_sub_explicit(&g_pending, 1, memory_order_release);
    }
  }
  return NULL;
}

void vn_pool_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > VN_MAX_THREADS) n = VN_MAX_THREADS;
  pthread_mutex_lock(&g_resize);
  while (g_created < n - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    g_start_gen[g_created] = atomic_load(&g_gen);
    if (pthread_create(&t, &attr, worker_main, (void *)(intptr_t)g_created) != 0) {
      pthread_attr_destroy(&attr);
      break;
    }
    pthread_attr_destroy(&attr);
    g_created++;
  }
  g_threads = n <= g_created + 1 ? n : g_created + 1;
  pthread_mutex_unlock(&g_resize);
}

int vn_pool_threads(void) { return g_threads; }

void vn_parallel_for(int64_t ntasks, vn_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  int workers = g_threads - 1;
  if (workers > ntasks - 1) workers = (int)(ntasks - 1);
  if (workers <= 0 || atomic_flag_test_and_set(&g_busy)) {
    for (int64_t i = 0; i < ntasks; i++) fn(ctx, i);
    return;
  }
  g_fn = fn;
  g_ctx = ctx;
  g_ntasks = ntasks;
  atomic_store_explicit(&g_next, 0, memory_order_relaxed);
  atomic_store_explicit(&g_pending, workers, memory_order_relaxed);
  unsigned next = ((atomic_load_explicit(&g_gen, memory_order_relaxed) >> 8) + 1) << 8 | (unsigned)workers;
  atomic_store(&g_gen, next); /* seq_cst: publishes the job, ordered before reading g_sleepers */
  if (atomic_load(&g_sleepers) > 0) futex_wake_all(&g_gen);
  run_tasks();
  /* wait for the enlisted workers; yield the core now and then in case one of them is waiting
   * for it (more runnable threads than cores) */
  for (unsigned spins = 0; atomic_load_explicit(&g_pending, memory_order_acquire) > 0; spins++) {
    if ((spins & 1023) == 1023)
      sched_yield();
    else
      cpu_relax();
  }
  atomic_flag_clear(&g_busy);
}

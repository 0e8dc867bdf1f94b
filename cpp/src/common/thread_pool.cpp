#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tokenspace/simd.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace {

// What a kernel call sees for its whole run: the settings pinned by its outermost KernelScope
// and its job. Pool workers adopt the caller's for the duration of each parallel job.
struct CallState {
  int depth = 0;
  std::size_t threads = 0;
  int simd = -1;
  Job* job = nullptr;
  bool inside_task = false;
  int planned = 0;
};
thread_local CallState tl_call;

std::size_t hardware_threads() {
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

std::size_t default_threads() {
  const char* env = std::getenv("TOKENSPACE_NUM_THREADS");
  if (!env || !*env) return hardware_threads();
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(env, &end, 10);
  const bool digits = env[0] >= '0' && env[0] <= '9';
  if (!digits || *end != '\0' || errno == ERANGE || v < 1 || v > max_threads())
    throw std::invalid_argument(std::string("TOKENSPACE_NUM_THREADS=") + env +
                                " is not a whole number between 1 and " +
                                std::to_string(max_threads()) +
                                " (4 x this machine's hardware threads); unset it or set it "
                                "in that range");
  return static_cast<std::size_t>(v);
}

std::atomic<std::size_t>& thread_setting() {
  static std::atomic<std::size_t> n{default_threads()};
  return n;
}

// Workers spin briefly after a job (so back-to-back small jobs, such as single-query searches,
// skip the futex wake-up, which costs tens of microseconds in a VM) and then sleep on a
// condition variable; a job is a generation number plus the task function, and tasks are
// claimed from an atomic counter so uneven tasks balance.
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void run(std::size_t n_tasks, std::size_t n_workers,
           const std::function<void(std::size_t, std::size_t)>& fn) {
    Job* job = tl_call.job;
    // One parallel job at a time; a caller waiting behind another thread's job still honours
    // its own cancellation.
    while (!job_m_.try_lock_for(std::chrono::milliseconds(20)))
      if (job && job->cancelled.load(std::memory_order_relaxed)) throw Cancelled();
    std::lock_guard<std::timed_mutex> job_lock(job_m_, std::adopt_lock);
    ensure_threads(n_workers - 1);
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      next_.store(0);
      error_ = nullptr;
      caller_ = tl_call;
      active_workers_ = n_workers - 1;
      pending_.store(n_workers - 1);
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    work(0);
    spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
    {
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [&] { return pending_.load() == 0; });
      fn_ = nullptr;
    }
    if (error_) std::rethrow_exception(error_);
    if (job && job->cancelled.load()) throw Cancelled();
  }

 private:
  // Spins up to TOKENSPACE_SPIN_US microseconds (default 100; 0 = never spin) for cond;
  // returns whether it became true.
  template <typename Cond>
  static bool spin_until(Cond cond) {
    static const std::chrono::microseconds kSpin = [] {
      const char* env = std::getenv("TOKENSPACE_SPIN_US");
      const long v = env ? std::strtol(env, nullptr, 10) : 100;
      return std::chrono::microseconds(v >= 0 ? v : 100);
    }();
    if (kSpin.count() == 0) return cond();
    const auto start = std::chrono::steady_clock::now();
    for (unsigned i = 1;; ++i) {
      if (cond()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 0 && std::chrono::steady_clock::now() - start > kSpin) return cond();
    }
  }

  void ensure_threads(std::size_t n) {
    while (threads_.size() < n) {
      std::size_t id = threads_.size() + 1;
      threads_.emplace_back([this, id] { loop(id); });
    }
  }

  void loop(std::size_t id) {
    std::size_t seen = 0;
    for (;;) {
      spin_until(
          [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_.load() || generation_.load() != seen; });
        if (stop_.load()) return;
        seen = generation_.load();
        if (id > active_workers_) continue;  // this job uses fewer workers
        tl_call = caller_;
      }
      work(id);
      tl_call = CallState{};
      if (pending_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lk(m_);
        done_cv_.notify_all();
      }
    }
  }

  void work(std::size_t worker) {
    Job* job = tl_call.job;
    tl_call.inside_task = true;
    for (;;) {
      if (job && job->cancelled.load(std::memory_order_relaxed)) break;
      std::size_t t = next_.fetch_add(1);
      if (t >= n_tasks_) break;
      try {
        (*fn_)(t, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_tasks_);  // stop handing out tasks
      }
      if (job) job->done.fetch_add(1, std::memory_order_relaxed);
    }
    tl_call.inside_task = false;
  }

  std::timed_mutex job_m_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> threads_;
  const std::function<void(std::size_t, std::size_t)>* fn_ = nullptr;
  std::size_t n_tasks_ = 0, active_workers_ = 0;
  CallState caller_;
  std::atomic<std::size_t> next_{0}, pending_{0}, generation_{0};
  std::exception_ptr error_;
  std::atomic<bool> stop_{false};
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose: no join at interpreter teardown
  return *p;
}

}  // namespace

std::size_t max_threads() { return std::max<std::size_t>(16, 4 * hardware_threads()); }

std::size_t num_threads() {
  if (tl_call.depth > 0) return tl_call.threads;
  return thread_setting().load();
}

void set_num_threads(std::size_t n) {
  if (n < 1 || n > max_threads())
    throw std::invalid_argument("the number of threads must be between 1 and " +
                                std::to_string(max_threads()) +
                                " (4 x this machine's hardware threads); got " + std::to_string(n));
  thread_setting().store(n);
}

void set_current_job(Job* job) { tl_call.job = job; }
Job* current_job() { return tl_call.job; }

void check_cancelled() {
  if (tl_call.job && tl_call.job->cancelled.load(std::memory_order_relaxed)) throw Cancelled();
}

KernelScope::KernelScope() : outermost_(tl_call.depth == 0) {
  if (outermost_) {
    // Read before pinning: both reads go to the process-wide settings.
    const std::size_t threads = thread_setting().load();
    const int simd = static_cast<int>(active_simd_level());
    tl_call.threads = threads;
    tl_call.simd = simd;
  }
  ++tl_call.depth;
}

KernelScope::~KernelScope() {
  if (--tl_call.depth == 0) {
    tl_call.threads = 0;
    tl_call.simd = -1;
  }
}

ProgressPlan::ProgressPlan(std::uint64_t n_tasks) {
  if (tl_call.job && tl_call.planned == 0) tl_call.job->total.fetch_add(n_tasks);
  ++tl_call.planned;
}

ProgressPlan::~ProgressPlan() { --tl_call.planned; }

int pinned_simd_level() { return tl_call.depth > 0 ? tl_call.simd : -1; }

void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t, std::size_t)>& fn) {
  if (n_tasks == 0) return;
  Job* job = tl_call.job;
  const bool outer = !tl_call.inside_task;
  if (job && outer && tl_call.planned == 0)
    job->total.fetch_add(n_tasks, std::memory_order_relaxed);
  std::size_t workers = std::min(num_threads(), n_tasks);
  if (workers <= 1 || !outer) {
    for (std::size_t t = 0; t < n_tasks; ++t) {
      check_cancelled();
      fn(t, 0);
      if (job && outer) job->done.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  pool().run(n_tasks, workers, fn);
}

}  // namespace tokenspace

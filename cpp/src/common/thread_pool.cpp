#include "tokenspace/threads.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tokenspace {
namespace {

thread_local bool tl_inside_task = false;

std::size_t default_threads() {
  if (const char* env = std::getenv("TOKENSPACE_NUM_THREADS")) {
    long v = std::strtol(env, nullptr, 10);
    if (v >= 1) return static_cast<std::size_t>(v);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
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
    std::lock_guard<std::mutex> job_lock(job_m_);  // one parallel job at a time
    ensure_threads(n_workers - 1);
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      next_.store(0);
      error_ = nullptr;
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
      }
      work(id);
      if (pending_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lk(m_);
        done_cv_.notify_all();
      }
    }
  }

  void work(std::size_t worker) {
    tl_inside_task = true;
    for (;;) {
      std::size_t t = next_.fetch_add(1);
      if (t >= n_tasks_) break;
      try {
        (*fn_)(t, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_tasks_);  // stop handing out tasks
      }
    }
    tl_inside_task = false;
  }

  std::mutex job_m_, m_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> threads_;
  const std::function<void(std::size_t, std::size_t)>* fn_ = nullptr;
  std::size_t n_tasks_ = 0, active_workers_ = 0;
  std::atomic<std::size_t> next_{0}, pending_{0}, generation_{0};
  std::exception_ptr error_;
  std::atomic<bool> stop_{false};
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose: no join at interpreter teardown
  return *p;
}

std::atomic<std::size_t>& thread_setting() {
  static std::atomic<std::size_t> n{default_threads()};
  return n;
}

}  // namespace

std::size_t num_threads() { return thread_setting().load(); }

void set_num_threads(std::size_t n) {
  if (n < 1) throw std::invalid_argument("number of threads must be >= 1");
  thread_setting().store(n);
}

void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t, std::size_t)>& fn) {
  if (n_tasks == 0) return;
  std::size_t workers = std::min(num_threads(), n_tasks);
  if (workers <= 1 || tl_inside_task) {
    for (std::size_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  pool().run(n_tasks, workers, fn);
}

}  // namespace tokenspace

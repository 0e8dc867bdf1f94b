// Kernel threads: a small persistent pool; kernels split work into tasks pulled from an atomic
// counter. The pool's work loop is also where long calls are cancelled and their progress is
// counted, so every pool-driven kernel gets both.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>

namespace tokenspace {

/// Number of threads kernels use (TOKENSPACE_NUM_THREADS, else the hardware concurrency).
/// Inside a KernelScope: the count pinned when the scope began.
std::size_t num_threads();
/// Sets the number of threads, 1 <= n <= max_threads(); a running kernel keeps its own count.
void set_num_threads(std::size_t n);
/// Largest accepted thread count: 4 x the hardware concurrency (at least 16). The pool keeps
/// one OS thread per worker for the life of the process, and past a few threads per core more
/// threads only add context switches.
std::size_t max_threads();

/// Cancellation flag and progress counters of one long call, shared by the thread that waits
/// for it and the kernel's workers. Progress counts parallel_for tasks: `total` grows as each
/// parallel phase starts, `done` as its tasks finish.
struct Job {
  std::atomic<bool> cancelled{false};
  std::atomic<std::uint64_t> done{0}, total{0};
};

/// Thrown out of parallel_for (and check_cancelled) once the current job is cancelled.
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "tokenspace kernel cancelled"; }
};

/// Makes `job` the calling thread's current job (nullptr: none); kernels started on this
/// thread, and their pool workers, report to it.
void set_current_job(Job* job);
Job* current_job();
/// Throws Cancelled if the current job was cancelled: for long loops outside parallel_for.
void check_cancelled();

/// Declares up front how many parallel_for tasks a multi-phase kernel will run, so its
/// progress fraction means something from the start (parallel_for stops adding to the total
/// while a plan is active; nested plans are ignored).
class ProgressPlan {
 public:
  explicit ProgressPlan(std::uint64_t n_tasks);
  ~ProgressPlan();
  ProgressPlan(const ProgressPlan&) = delete;
  ProgressPlan& operator=(const ProgressPlan&) = delete;
};

/// Pins num_threads() and the SIMD level for the calling thread while it lives (the outermost
/// scope wins), so a setting changed by another thread takes effect at the next kernel call
/// instead of in the middle of one. Every binding opens one around its kernel.
class KernelScope {
 public:
  KernelScope();
  ~KernelScope();
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;

 private:
  bool outermost_;
};

/// The SIMD level pinned by the innermost KernelScope of this thread, or -1.
int pinned_simd_level();

/// Runs fn(task, worker) for task in [0, n_tasks) on up to num_threads() workers, the caller
/// being worker 0. The first exception thrown by any task is rethrown after all workers stop.
/// Calls from inside a task run serially (no nested parallelism, no deadlock). Stops handing
/// out tasks and throws Cancelled once the current job is cancelled.
void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t, std::size_t)>& fn);

}  // namespace tokenspace

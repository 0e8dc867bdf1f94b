// Kernel threads: a small persistent pool; kernels split work into tasks pulled from an atomic
// counter.
#pragma once
#include <cstddef>
#include <functional>

namespace tokenspace {

/// Number of threads kernels use (TOKENSPACE_NUM_THREADS, else the hardware concurrency).
std::size_t num_threads();
/// Sets the number of threads (>= 1).
void set_num_threads(std::size_t n);

/// Runs fn(task, worker) for task in [0, n_tasks) on up to num_threads() workers, the caller
/// being worker 0. The first exception thrown by any task is rethrown after all workers stop.
/// Calls from inside a task run serially (no nested parallelism, no deadlock).
void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t, std::size_t)>& fn);

}  // namespace tokenspace

// One-pass row operations over a whole matrix: unit rows, the finiteness check, projections.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tokenspace {

/// Writes the unit-length copy of each row of x (n x d) to out (n x d) and each norm to norms
/// (may be null). Rows of norm 0 stay 0.
void normalize_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, float* out,
                    float* norms);

/// Index of the first row containing NaN or +-Inf, or -1 if all values are finite.
std::int64_t first_nonfinite_row(const float* x, std::size_t n, std::size_t ldx, std::size_t d);

/// out[j] = <x_j, axis> - offset for the n rows of x (row stride ldx), multithreaded.
/// With offset = <center, axis> this is the projection of x_j - center onto axis; one
/// streaming pass over x (memory-bandwidth bound).
/// A non-null center (d floats) is subtracted from each row before the product, in float32
/// (exact while a row and the center agree to within a factor 2), so a large common offset
/// is not cancelled out of a float32 dot product afterwards (lossy: 5% at an offset of 1e4).
/// Benchmarks' memory-bandwidth reference: reads the n floats at x once with every kernel
/// thread (the chunks project_rows uses), doing no other work, and returns the OR of their bit
/// patterns so the reads cannot be dropped.
std::uint32_t read_pass(const float* x, std::size_t n);

void project_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, const float* axis,
                  float offset, float* out, const float* center = nullptr);

}  // namespace tokenspace

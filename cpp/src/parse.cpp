#include "tokenspace/parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Up to 40 bytes of the file for an error message, non-printable / non-ASCII bytes escaped so
// the message is always valid UTF-8.
std::string snippet(const char* p, std::size_t n) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  const std::size_t m = std::min<std::size_t>(n, 40);
  for (std::size_t i = 0; i < m; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (n > m) out += "...";
  return out;
}

constexpr double kPow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Clinger's fast path for plain decimals ("-0.00066023", "4.0071", "1e-05"): when the digits
// fit in 53 bits and the power of ten is at most 22, both are exact doubles and one IEEE
// multiply/divide gives the correctly rounded double, the same value from_chars returns.
// Returns false (caller falls back to from_chars) for anything else.
inline bool parse_fast(const char* p, const char* e, double& out) {
  bool neg = false;
  if (p < e && (*p == '-' || *p == '+')) {
    neg = *p == '-';
    ++p;
  }
  std::uint64_t mant = 0;
  int digits = 0, exp10 = 0;
  bool any = false;
  while (p < e && static_cast<unsigned>(*p - '0') < 10) {
    if (digits < 19) {
      mant = mant * 10 + static_cast<unsigned>(*p - '0');
      if (mant) ++digits;
    } else {
      return false;
    }
    any = true;
    ++p;
  }
  if (p < e && *p == '.') {
    ++p;
    while (p < e && static_cast<unsigned>(*p - '0') < 10) {
      if (digits >= 19) return false;
      mant = mant * 10 + static_cast<unsigned>(*p - '0');
      if (mant) ++digits;
      --exp10;
      any = true;
      ++p;
    }
  }
  if (!any) return false;
  if (p < e && (*p == 'e' || *p == 'E')) {
    ++p;
    bool eneg = false;
    if (p < e && (*p == '-' || *p == '+')) {
      eneg = *p == '-';
      ++p;
    }
    if (p == e) return false;
    int ex = 0;
    while (p < e && static_cast<unsigned>(*p - '0') < 10) {
      if (ex > 10000) return false;
      ex = ex * 10 + (*p - '0');
      ++p;
    }
    exp10 += eneg ? -ex : ex;
  }
  if (p != e) return false;
  if (mant > (std::uint64_t(1) << 53) || exp10 < -22 || exp10 > 22) return false;
  double v = static_cast<double>(mant);
  v = exp10 < 0 ? v / kPow10[-exp10] : v * kPow10[exp10];
  out = neg ? -v : v;
  return true;
}

// Python's float() accepts a leading '+', std::from_chars does not.
inline bool parse_value(const char* p, const char* e, float& out) {
  double fast;
  if (parse_fast(p, e, fast)) {
    out = static_cast<float>(fast);
    return true;
  }
  const char* q = (p < e && *p == '+') ? p + 1 : p;
  double v;
  auto r = std::from_chars(q, e, v);
  if (r.ec != std::errc() || r.ptr != e) return false;
  out = static_cast<float>(v);  // double rounding on purpose: identical to gensim
  return true;
}

struct TaskError {
  std::size_t where = std::numeric_limits<std::size_t>::max();
  std::string what;
};

void throw_earliest(const std::vector<TaskError>& errors) {
  const TaskError* first = nullptr;
  for (const auto& e : errors)
    if (!e.what.empty() && (!first || e.where < first->where)) first = &e;
  if (first) throw ParseError(first->where, first->what);
}

constexpr std::size_t kRowsPerTask = 2048;

}  // namespace

TextIndex index_text_lines(const char* data, std::size_t size, std::size_t begin,
                           std::size_t max_records, std::size_t first_line_no) {
  TextIndex idx;
  std::size_t pos = begin, line = first_line_no;
  while (pos < size && idx.starts.size() < max_records) {
    if ((line & 0xFFFF) == 0) check_cancelled();  // a serial scan: seconds for large files
    const void* nl = std::memchr(data + pos, '\n', size - pos);
    const std::size_t end = nl ? static_cast<const char*>(nl) - data : size;
    bool blank = true;
    for (std::size_t i = pos; i < end; ++i)
      if (!is_space(data[i])) {
        blank = false;
        break;
      }
    if (!blank) {
      if (idx.starts.empty()) {
        std::size_t e = end;
        while (e > pos && is_space(data[e - 1])) --e;
        std::size_t fields = 0;
        bool in_field = false;
        for (std::size_t i = pos; i < e; ++i) {
          const bool sep = data[i] == ' ' || data[i] == '\t';
          if (!sep && !in_field) ++fields;
          in_field = !sep;
        }
        idx.first_fields = fields;
      }
      idx.starts.push_back(pos);
      idx.line_no.push_back(line);
    }
    pos = end + 1;
    ++line;
  }
  return idx;
}

void parse_text_records(const char* data, std::size_t size, const TextIndex& index,
                        std::size_t n_records, std::size_t dim, float* out,
                        std::uint64_t* word_begin, std::uint32_t* word_len) {
  if (n_records > index.starts.size())
    throw std::invalid_argument("parse_text_records: more records requested than indexed");
  const std::size_t n_tasks = (n_records + kRowsPerTask - 1) / kRowsPerTask;
  std::vector<TaskError> errors(n_tasks);
  parallel_for(n_tasks, [&](std::size_t t, std::size_t) {
    const std::size_t r0 = t * kRowsPerTask, r1 = std::min(n_records, r0 + kRowsPerTask);
    for (std::size_t r = r0; r < r1; ++r) {
      const std::size_t start = index.starts[r];
      const void* nl = std::memchr(data + start, '\n', size - start);
      const char* line = data + start;
      const char* end = nl ? static_cast<const char*>(nl) : data + size;
      while (end > line && is_space(end[-1])) --end;
      // The word ends at the first space, as in gensim (words never contain one there).
      const char* w = line;
      while (w < end && *w != ' ') ++w;
      if (w == line) {
        errors[t] = {index.line_no[r], "the line starts with a space: empty word"};
        return;
      }
      if (w - line > static_cast<std::ptrdiff_t>(std::numeric_limits<std::uint32_t>::max())) {
        errors[t] = {index.line_no[r], "word longer than 4 GiB"};
        return;
      }
      word_begin[r] = static_cast<std::uint64_t>(line - data);
      word_len[r] = static_cast<std::uint32_t>(w - line);
      float* row = out + r * dim;
      std::size_t j = 0;
      const char* p = w;
      while (true) {
        while (p < end && (*p == ' ' || *p == '\t')) ++p;
        if (p >= end) break;
        const char* f = p;
        while (f < end && *f != ' ' && *f != '\t') ++f;
        if (j == dim) {
          std::size_t extra = 0;
          for (const char* q = p; q < end;) {
            while (q < end && (*q == ' ' || *q == '\t')) ++q;
            if (q < end) ++extra;
            while (q < end && *q != ' ' && *q != '\t') ++q;
          }
          errors[t] = {index.line_no[r], "expected " + std::to_string(dim) +
                                             " values after the word '" + snippet(line, w - line) +
                                             "', found " + std::to_string(dim + extra)};
          return;
        }
        float v;
        if (!parse_value(p, f, v)) {
          errors[t] = {index.line_no[r], "value " + std::to_string(j + 1) + " of word '" +
                                             snippet(line, w - line) + "' is not a number: '" +
                                             snippet(p, f - p) + "'"};
          return;
        }
        if (!std::isfinite(v)) {
          errors[t] = {index.line_no[r], "value " + std::to_string(j + 1) + " of word '" +
                                             snippet(line, w - line) + "' is '" +
                                             snippet(p, f - p) +
                                             "' (NaN/Inf, or beyond the float32 range)"};
          return;
        }
        row[j++] = v;
        p = f;
      }
      if (j != dim) {
        errors[t] = {index.line_no[r], "expected " + std::to_string(dim) +
                                           " values after the word '" + snippet(line, w - line) +
                                           "', found " + std::to_string(j)};
        return;
      }
    }
  });
  throw_earliest(errors);
}

void index_binary_records(const char* data, std::size_t size, std::size_t begin,
                          std::size_t max_records, std::size_t dim,
                          std::vector<std::uint64_t>& value_offset,
                          std::vector<std::uint64_t>& word_begin,
                          std::vector<std::uint32_t>& word_len) {
  const std::size_t vec_bytes = dim * sizeof(float);
  std::size_t pos = begin;
  for (std::size_t r = 0; r < max_records; ++r) {
    while (pos < size && data[pos] == '\n') ++pos;
    if (pos >= size) return;
    // A word longer than this is a sign of reading text as binary or a corrupt file.
    const std::size_t scan = std::min<std::size_t>(size - pos, 1 << 20);
    const void* sp = std::memchr(data + pos, ' ', scan);
    if (!sp)
      throw ParseError(r + 1, "no space after the word '" + snippet(data + pos, scan) +
                                  "' (truncated file, or not word2vec binary)");
    const std::size_t w_end = static_cast<const char*>(sp) - data;
    if (w_end == pos) throw ParseError(r + 1, "empty word (a space where a word should start)");
    const std::size_t v = w_end + 1;
    if (size - v < vec_bytes)
      throw ParseError(r + 1, "the vector of word '" + snippet(data + pos, w_end - pos) +
                                  "' has only " + std::to_string(size - v) + " of its " +
                                  std::to_string(vec_bytes) + " bytes (truncated file?)");
    value_offset.push_back(v);
    word_begin.push_back(pos);
    word_len.push_back(static_cast<std::uint32_t>(w_end - pos));
    pos = v + vec_bytes;
  }
}

void copy_binary_records(const char* data, const std::uint64_t* value_offset, std::size_t n,
                         std::size_t dim, float* out) {
  const std::size_t n_tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
  std::vector<TaskError> errors(n_tasks);
  parallel_for(n_tasks, [&](std::size_t t, std::size_t) {
    const std::size_t r0 = t * kRowsPerTask, r1 = std::min(n, r0 + kRowsPerTask);
    for (std::size_t r = r0; r < r1; ++r) {
      float* row = out + r * dim;
      std::memcpy(row, data + value_offset[r], dim * sizeof(float));
      for (std::size_t j = 0; j < dim; ++j)
        if (!std::isfinite(row[j])) {
          errors[t] = {r + 1, "value " + std::to_string(j + 1) + " is NaN or Inf"};
          return;
        }
    }
  });
  throw_earliest(errors);
}

std::vector<std::string> format_records(const char* words, const std::uint64_t* word_offsets,
                                        const float* x, std::size_t n, std::size_t dim,
                                        bool binary) {
  const std::size_t n_tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
  std::vector<std::string> chunks(n_tasks);
  parallel_for(n_tasks, [&](std::size_t t, std::size_t) {
    const std::size_t r0 = t * kRowsPerTask, r1 = std::min(n, r0 + kRowsPerTask);
    std::string& s = chunks[t];
    s.reserve((r1 - r0) * (binary ? dim * 4 + 16 : dim * 11 + 16));
    char buf[64];
    for (std::size_t r = r0; r < r1; ++r) {
      s.append(words + word_offsets[r], words + word_offsets[r + 1]);
      const float* row = x + r * dim;
      if (binary) {
        s.push_back(' ');
        s.append(reinterpret_cast<const char*>(row), dim * sizeof(float));
      } else {
        for (std::size_t j = 0; j < dim; ++j) {
          s.push_back(' ');
          // Shortest decimal that reads back (as float32) to the same value.
          auto res = std::to_chars(buf, buf + sizeof(buf), row[j]);
          s.append(buf, res.ptr);
        }
      }
      s.push_back('\n');
    }
  });
  return chunks;
}

}  // namespace tokenspace

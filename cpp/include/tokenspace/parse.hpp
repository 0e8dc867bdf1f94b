// Parsers and writers of the word2vec / GloVe file formats (text and binary).
//
// The kernels work on a byte buffer (an mmap of the file, or decompressed .gz bytes) and never
// allocate the outputs themselves: a first pass indexes the records, the caller allocates, a
// second pass (multithreaded) fills the matrix. Errors carry the 1-based line (text) or record
// (binary) number so the caller can name the place in the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tokenspace {

/// A malformed record: `where` is the 1-based line (text) or record (binary) number.
class ParseError : public std::invalid_argument {
 public:
  ParseError(std::size_t where, const std::string& what)
      : std::invalid_argument(what), where_(where) {}
  std::size_t where() const { return where_; }

 private:
  std::size_t where_;
};

/// Record index of a text file: where each non-blank line starts and its 1-based line number.
struct TextIndex {
  std::vector<std::size_t> starts;   ///< byte offset of each record line
  std::vector<std::size_t> line_no;  ///< 1-based line number of each record (for errors)
  std::size_t first_fields = 0;      ///< fields (word + values) on the first record line
};

/// Finds up to `max_records` non-blank lines of `data[begin, size)`; `first_line_no` is the
/// line number of the byte at `begin`.
TextIndex index_text_lines(const char* data, std::size_t size, std::size_t begin,
                           std::size_t max_records, std::size_t first_line_no);

/// Parses the indexed records: each line is `word v1 ... vd` (values separated by spaces or
/// tabs, trailing whitespace ignored). Every value is parsed to double and rounded once to
/// float32, exactly as gensim's `float()` + float32 store does. Writes row i to
/// `out[i * dim ...]` and the word's byte span to word_begin / word_len. Throws ParseError with
/// the earliest bad line (wrong value count, unparsable or non-finite number, empty word).
void parse_text_records(const char* data, std::size_t size, const TextIndex& index,
                        std::size_t n_records, std::size_t dim, float* out,
                        std::uint64_t* word_begin, std::uint32_t* word_len);

/// Indexes word2vec binary records `word<space><dim little-endian float32>` starting at
/// `begin`; newlines before a word are skipped (the C tool writes one after each vector).
/// Returns the offsets of the first float of each record and the word spans. Stops after
/// `max_records`; throws ParseError on a truncated record (record number 1-based).
void index_binary_records(const char* data, std::size_t size, std::size_t begin,
                          std::size_t max_records, std::size_t dim,
                          std::vector<std::uint64_t>& value_offset,
                          std::vector<std::uint64_t>& word_begin,
                          std::vector<std::uint32_t>& word_len);

/// Copies the float32 values of indexed binary records into `out` (multithreaded); throws
/// ParseError (record number) on NaN/Inf.
void copy_binary_records(const char* data, const std::uint64_t* value_offset, std::size_t n,
                         std::size_t dim, float* out);

/// Formats rows as text lines `word v1 ... vd\n` (shortest float32 representation that reads
/// back to the same float) or binary records `word<space><float32 x dim>\n`. `words` is the
/// UTF-8 bytes of all words and word_offsets (n + 1 entries) delimits them. Returns the output
/// in chunks (produced in parallel) to be written in order.
std::vector<std::string> format_records(const char* words, const std::uint64_t* word_offsets,
                                        const float* x, std::size_t n, std::size_t dim,
                                        bool binary);

}  // namespace tokenspace

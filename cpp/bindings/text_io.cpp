// Bindings of the text and binary word-vector formats (parse, format, word index).
#include <algorithm>
#include <string>
#include <vector>

#include "convert.hpp"
#include "tokenspace/parse.hpp"

namespace tokenspace_py {
namespace {

using namespace tokenspace;

// Words are decoded here, with the GIL, after the parallel parse; a word that is not valid in
// `encoding` under `errors` becomes a ValueError naming the line/record instead of a crash.
py::list decode_words(const char* data, const std::uint64_t* begin, const std::uint32_t* len,
                      std::size_t n, const std::string& encoding, const std::string& errors,
                      const std::string& where_prefix, const std::size_t* where) {
  py::list out(n);
  const bool utf8 = encoding == "utf-8" || encoding == "utf8";
  for (std::size_t i = 0; i < n; ++i) {
    const char* p = data + begin[i];
    PyObject* s = utf8 ? PyUnicode_DecodeUTF8(p, len[i], errors.c_str())
                       : PyUnicode_Decode(p, len[i], encoding.c_str(), errors.c_str());
    if (!s) {
      py::error_already_set err;
      throw std::invalid_argument(
          where_prefix + std::to_string(where ? where[i] : i + 1) + ": the word is not valid " +
          encoding + " (" + std::string(py::str(err.value())) +
          "); pass encoding_errors='replace' (or 'ignore', 'backslashreplace') to load it anyway, "
          "or encoding= for a file in another encoding");
    }
    PyList_SET_ITEM(out.ptr(), i, s);
  }
  return out;
}

const char* buffer_bytes(const py::buffer_info& info) {
  if (info.ndim != 1 || info.itemsize != 1)
    throw std::invalid_argument("expected a 1-D byte buffer (bytes, mmap or memoryview)");
  return static_cast<const char*>(info.ptr);
}

py::tuple parse_text(py::buffer buffer, std::size_t begin, std::size_t max_records, std::size_t dim,
                     std::size_t first_line_no, const std::string& source,
                     const std::string& encoding, const std::string& errors) {
  py::buffer_info info = buffer.request();
  const char* data = buffer_bytes(info);
  const std::size_t size = static_cast<std::size_t>(info.size);
  if (begin > size) throw std::invalid_argument("begin is past the end of the buffer");
  TextIndex index;
  {
    KernelCall call;
    index = index_text_lines(data, size, begin, max_records, first_line_no);
  }
  const std::size_t n = index.starts.size();
  if (n == 0)
    throw std::invalid_argument(source + ": no vectors in the file (it is empty or blank)");
  if (dim == 0) {
    if (index.first_fields < 2)
      throw std::invalid_argument(source + ", line " + std::to_string(index.line_no[0]) +
                                  ": expected 'word v1 v2 ...' but the line has " +
                                  std::to_string(index.first_fields) + " field(s)");
    dim = index.first_fields - 1;
  }
  py::array_t<float> vectors({n, dim});
  std::vector<std::uint64_t> wb(n);
  std::vector<std::uint32_t> wl(n);
  float* out = vectors.mutable_data();
  try {
    KernelCall call;
    parse_text_records(data, size, index, n, dim, out, wb.data(), wl.data());
  } catch (const ParseError& e) {
    throw std::invalid_argument(source + ", line " + std::to_string(e.where()) + ": " + e.what());
  }
  py::list words = decode_words(data, wb.data(), wl.data(), n, encoding, errors, source + ", line ",
                                index.line_no.data());
  py::array_t<std::int64_t> lines(n);
  std::copy(index.line_no.begin(), index.line_no.end(), lines.mutable_data());
  return py::make_tuple(vectors, words, lines);
}

py::tuple parse_binary(py::buffer buffer, std::size_t begin, std::size_t max_records,
                       std::size_t dim, const std::string& source, const std::string& encoding,
                       const std::string& errors) {
  py::buffer_info info = buffer.request();
  const char* data = buffer_bytes(info);
  const std::size_t size = static_cast<std::size_t>(info.size);
  if (begin > size) throw std::invalid_argument("begin is past the end of the buffer");
  if (dim == 0) throw std::invalid_argument(source + ": the header gives dimension 0");
  std::vector<std::uint64_t> vo, wb;
  std::vector<std::uint32_t> wl;
  const std::size_t reserve = std::min<std::size_t>(max_records, size / (dim * 4 + 2) + 1);
  vo.reserve(reserve);
  wb.reserve(reserve);
  wl.reserve(reserve);
  try {
    KernelCall call;
    index_binary_records(data, size, begin, max_records, dim, vo, wb, wl);
  } catch (const ParseError& e) {
    throw std::invalid_argument(source + ", record " + std::to_string(e.where()) + ": " + e.what());
  }
  const std::size_t n = vo.size();
  py::array_t<float> vectors({n, dim});
  float* out = vectors.mutable_data();
  try {
    KernelCall call;
    copy_binary_records(data, vo.data(), n, dim, out);
  } catch (const ParseError& e) {
    throw std::invalid_argument(source + ", record " + std::to_string(e.where()) + ": " + e.what());
  }
  py::list words =
      decode_words(data, wb.data(), wl.data(), n, encoding, errors, source + ", record ", nullptr);
  return py::make_tuple(vectors, words);
}

py::list format_word_vectors(const py::list& words, FloatArray vectors, bool binary) {
  require_matrix(vectors, "vectors");
  const std::size_t n = vectors.shape(0), dim = vectors.shape(1);
  if (static_cast<std::size_t>(py::len(words)) != n)
    throw std::invalid_argument("words and vectors differ in length");
  std::string blob;
  std::vector<std::uint64_t> offsets(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    py::handle w = words[i];
    if (!PyUnicode_Check(w.ptr()))
      throw py::type_error("word " + std::to_string(i) + " is not a str");
    Py_ssize_t len = 0;
    const char* u = PyUnicode_AsUTF8AndSize(w.ptr(), &len);
    if (!u) throw py::error_already_set();
    if (len == 0)
      throw std::invalid_argument("word " + std::to_string(i) +
                                  " is empty; the formats cannot store it");
    for (Py_ssize_t j = 0; j < len; ++j)
      if (u[j] == ' ' || u[j] == '\n' || (!binary && (u[j] == '\t' || u[j] == '\r')))
        throw std::invalid_argument(
            "word " + std::to_string(i) + " (" + std::string(py::repr(w)) +
            ") contains whitespace the format uses as a separator; rename it before saving");
    blob.append(u, len);
    offsets[i + 1] = blob.size();
  }
  std::vector<std::string> chunks;
  {
    KernelCall call;
    chunks = format_records(blob.data(), offsets.data(), vectors.data(), n, dim, binary);
  }
  py::list out;
  for (auto& c : chunks) out.append(py::bytes(c));
  return out;
}

}  // namespace

void bind_text_io(py::module_& m) {
  m.def("parse_text", &parse_text, py::arg("buffer"), py::arg("begin") = 0,
        py::arg("max_records") = static_cast<std::size_t>(-1), py::arg("dim") = 0,
        py::arg("first_line_no") = 1, py::arg("source") = "<buffer>", py::arg("encoding") = "utf-8",
        py::arg("errors") = "strict",
        "Parse word2vec/GloVe text records: (vectors, words, line numbers).");
  m.def("parse_binary", &parse_binary, py::arg("buffer"), py::arg("begin"), py::arg("max_records"),
        py::arg("dim"), py::arg("source") = "<buffer>", py::arg("encoding") = "utf-8",
        py::arg("errors") = "strict", "Parse word2vec binary records: (vectors, words).");
  m.def("format_word_vectors", &format_word_vectors, py::arg("words"), py::arg("vectors"),
        py::arg("binary") = false, "word2vec/GloVe records as a list of byte chunks.");
}

}  // namespace tokenspace_py

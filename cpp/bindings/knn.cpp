// Bindings of the searches: kNN databases and searches, analogy search.
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "convert.hpp"
#include "tokenspace/analogy.hpp"
#include "tokenspace/knn.hpp"

namespace tokenspace_py {
namespace {

using namespace tokenspace;

Metric parse_metric(const std::string& m) {
  if (m == "ip" || m == "dot") return Metric::InnerProduct;
  if (m == "l2") return Metric::L2;
  throw std::invalid_argument("unknown kernel metric '" + m + "'; expected 'ip' or 'l2'");
}

// A database prepared once and searched many times (EmbeddingSpace caches one per metric).
// It holds a reference to the rows, so the numpy array outlives the C++ view of it.
struct PyDatabase {
  FloatArray rows;
  std::unique_ptr<KnnDatabase> db;
  std::shared_mutex lock;  // searches share it; preparing the bf16 copy takes it alone
};

std::unique_ptr<PyDatabase> make_database(FloatArray rows) {
  require_matrix(rows, "base");
  auto out = std::make_unique<PyDatabase>();
  out->rows = rows;
  const std::size_t n = rows.shape(0), d = rows.shape(1);
  KernelCall call;
  out->db = std::make_unique<KnnDatabase>(out->rows.data(), n, d, d);
  return out;
}

py::tuple knn(PyDatabase& base, FloatArray queries, std::size_t k, const std::string& metric,
              py::object exclude, py::object bias, const std::string& precision, bool return_keys) {
  require_matrix(queries, "queries");
  const KnnDatabase& db = *base.db;
  const std::size_t m = queries.shape(0), d = queries.shape(1), n = db.n();
  if (d != db.d())
    throw std::invalid_argument("queries have dimension " + std::to_string(d) +
                                " but the database has " + std::to_string(db.d()));
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (k > n)
    throw std::invalid_argument("k=" + std::to_string(k) + " is larger than the database (" +
                                std::to_string(n) + " rows)");
  Metric met = parse_metric(metric);
  Precision prec = parse_precision(precision);
  IdArray ex;
  std::size_t n_ex = 0;
  if (!exclude.is_none()) {
    ex = IdArray::ensure(exclude);
    if (!ex) throw std::invalid_argument("exclude must be an integer array");
    if (ex.ndim() != 2 || static_cast<std::size_t>(ex.shape(0)) != m)
      throw std::invalid_argument("exclude must have shape (n_queries, n_excluded)");
    n_ex = ex.shape(1);
  }
  FloatArray bias_arr;
  if (!bias.is_none()) {
    bias_arr = FloatArray::ensure(bias);
    if (!bias_arr || bias_arr.ndim() != 1 || static_cast<std::size_t>(bias_arr.shape(0)) != n)
      throw std::invalid_argument("bias must be a float array with one value per database row");
    if (met != Metric::InnerProduct)
      throw std::invalid_argument("bias is only supported with metric='ip'");
  }
  py::array_t<std::int64_t> idx({m, k});
  py::array_t<float> scores({m, k});
  py::array_t<double> keys(return_keys ? std::vector<std::size_t>{m, k}
                                       : std::vector<std::size_t>{0, 0});
  {
    KernelCall call;
    std::shared_lock<std::shared_mutex> guard(base.lock);
    knn_search(db, queries.data(), m, d, k, met, bias.is_none() ? nullptr : bias_arr.data(),
               n_ex ? ex.data() : nullptr, n_ex, prec, idx.mutable_data(), scores.mutable_data(),
               return_keys ? keys.mutable_data() : nullptr);
  }
  if (return_keys) return py::make_tuple(idx, scores, keys);
  return py::make_tuple(idx, scores);
}

py::tuple self_join_tile(PyDatabase& base, std::size_t i0, std::size_t i1, std::size_t j0,
                         std::size_t j1, std::size_t k, const std::string& metric,
                         bool exclude_self) {
  const KnnDatabase& db = *base.db;
  const Metric met = parse_metric(metric);
  if (i0 >= i1 || j0 >= j1 || i1 > db.n() || j1 > db.n())
    throw std::invalid_argument(
        "tile ranges [i0, i1) and [j0, j1) must be non-empty and within "
        "the database's " +
        std::to_string(db.n()) + " rows");
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  const bool diag = i0 == j0 && i1 == j1;
  const std::size_t ni = i1 - i0, nj = diag ? 0 : j1 - j0;
  py::array_t<std::int64_t> idx_i({ni, k}), idx_j({nj, k});
  py::array_t<double> key_i({ni, k}), key_j({nj, k});
  {
    KernelCall call;
    std::shared_lock<std::shared_mutex> guard(base.lock);
    knn_self_join_tile(db, i0, i1, j0, j1, k, met, exclude_self, idx_i.mutable_data(),
                       key_i.mutable_data(), idx_j.mutable_data(), key_j.mutable_data());
  }
  if (diag) return py::make_tuple(idx_i, key_i, idx_i, key_i);
  return py::make_tuple(idx_i, key_i, idx_j, key_j);
}

py::tuple analogy(FloatArray terms, IdArray qterms, FloatArray base, std::size_t k,
                  const std::string& method, py::object weights, std::size_t n_pos, float eps,
                  py::object exclude, float cos_slack, py::object db) {
  require_matrix(terms, "terms");
  require_matrix(base, "base");
  if (!db.is_none() && !py::isinstance<PyDatabase>(db))
    throw py::type_error("db must be a Database of the base rows, or None");
  PyDatabase* database = db.is_none() ? nullptr : db.cast<PyDatabase*>();
  if (qterms.ndim() != 2)
    throw std::invalid_argument("qterms must be a 2-D (n_queries, n_terms) array");
  const std::size_t u = terms.shape(0), m = qterms.shape(0), T = qterms.shape(1);
  const std::size_t d = base.shape(1), n = base.shape(0);
  if (static_cast<std::size_t>(terms.shape(1)) != d)
    throw std::invalid_argument("terms have dimension " + std::to_string(terms.shape(1)) +
                                " but the database has " + std::to_string(d));
  AnalogyMode mode;
  if (method == "3cosadd")
    mode = AnalogyMode::Linear;
  else if (method == "3cosmul")
    mode = AnalogyMode::CosMul;
  else
    throw std::invalid_argument("method must be '3cosadd' or '3cosmul'");
  if (k == 0 || k > n)
    throw std::invalid_argument("k must be between 1 and the number of database rows (" +
                                std::to_string(n) + ")");
  FloatArray w;
  if (!weights.is_none()) {
    w = FloatArray::ensure(weights);
    if (!w || w.ndim() != 1 || static_cast<std::size_t>(w.shape(0)) != T)
      throw std::invalid_argument("weights must be a float array with one value per term");
  } else if (mode == AnalogyMode::Linear) {
    throw std::invalid_argument("3cosadd needs weights");
  }
  IdArray ex;
  std::size_t n_ex = 0;
  if (!exclude.is_none()) {
    ex = IdArray::ensure(exclude);
    if (!ex || ex.ndim() != 2 || static_cast<std::size_t>(ex.shape(0)) != m)
      throw std::invalid_argument(
          "exclude must be an integer array of shape (n_queries, n_excluded)");
    n_ex = ex.shape(1);
  }
  py::array_t<std::int64_t> idx({m, k});
  py::array_t<float> scores({m, k});
  {
    KernelCall call;
    std::shared_lock<std::shared_mutex> guard;
    if (database) guard = std::shared_lock<std::shared_mutex>(database->lock);
    analogy_search(terms.data(), u, qterms.data(), m, T, mode,
                   weights.is_none() ? nullptr : w.data(), n_pos, eps, cos_slack, base.data(), n, d,
                   d, k, n_ex ? ex.data() : nullptr, n_ex, idx.mutable_data(),
                   scores.mutable_data(), database ? database->db.get() : nullptr);
  }
  return py::make_tuple(idx, scores);
}

}  // namespace

void bind_knn(py::module_& m) {
  py::class_<PyDatabase>(m, "Database", "Rows prepared for repeated exact k-NN searches.")
      .def(py::init(&make_database), py::arg("rows"), "Borrow the float32 rows (kept alive).")
      .def(
          "prepare",
          [](PyDatabase& self, const std::string& precision, std::size_t n_queries) {
            const Precision prec = parse_precision(precision);
            KernelCall call;
            std::unique_lock<std::shared_mutex> guard(self.lock);
            self.db->prepare(prec, n_queries);
          },
          py::arg("precision") = "auto", py::arg("n_queries") = 0,
          "Build the low-precision copies the precision policy wants for n_queries queries "
          "(0: kept for many searches).")
      .def(
          "precision_for",
          [](PyDatabase& self, std::size_t n_queries, const std::string& precision) {
            const Precision prec = parse_precision(precision);
            std::shared_lock<std::shared_mutex> guard(self.lock);
            return std::string(precision_name(self.db->precision_for(n_queries, prec)));
          },
          py::arg("n_queries"), py::arg("precision") = "auto",
          "Candidate precision a search of n_queries queries would run: 'fp32', 'bf16' or 'int8'.")
      .def(
          "candidate_scores",
          [](PyDatabase& self, FloatArray query, const std::string& precision) {
            const Precision prec = parse_precision(precision);
            if (query.ndim() != 1 || static_cast<std::size_t>(query.shape(0)) != self.db->d())
              throw std::invalid_argument("query must be a vector of the database's dimension");
            for (py::ssize_t c = 0; c < query.shape(0); ++c)
              if (!std::isfinite(query.data()[c]))
                throw std::invalid_argument("query has a NaN or Inf value");
            py::array_t<float> out(self.db->n());
            Precision used;
            {
              KernelCall call;
              std::shared_lock<std::shared_mutex> guard(self.lock);
              used = candidate_scores(*self.db, query.data(), prec, out.mutable_data());
            }
            return py::make_tuple(out, std::string(precision_name(used)));
          },
          py::arg("query"), py::arg("precision") = "auto",
          "Diagnostics: the candidate-stage inner products of one query with every row at the "
          "precision a single-query search uses: (scores, precision). Approximate for bf16 and "
          "int8; searches certify them and re-rank in float64.")
      .def_property_readonly(
          "has_bf16", [](PyDatabase& self) { return self.db->has_bf16(); },
          "Whether the bf16 copy exists.")
      .def_property_readonly(
          "has_int8", [](PyDatabase& self) { return self.db->has_int8(); },
          "Whether the int8 copy exists.")
      .def_property_readonly(
          "n", [](PyDatabase& self) { return self.db->n(); }, "Number of rows.")
      .def_property_readonly(
          "d", [](PyDatabase& self) { return self.db->d(); }, "Dimension of the rows.")
      .def_property_readonly(
          "max_norm", [](PyDatabase& self) { return self.db->max_norm(); },
          "An upper bound of the largest row norm.");
  m.def("knn", &knn, py::arg("db"), py::arg("queries"), py::arg("k"), py::arg("metric") = "ip",
        py::arg("exclude") = py::none(), py::arg("bias") = py::none(),
        py::arg("precision") = "auto", py::arg("return_keys") = false,
        "Exact top-k of the queries against a prepared Database by inner product ('ip', plus an "
        "optional per-row bias) or Euclidean distance ('l2'): (ids, scores), plus the exact "
        "float64 ranking keys with return_keys=True.");
  m.def("knn_self_join_tile", &self_join_tile, py::arg("db"), py::arg("i0"), py::arg("i1"),
        py::arg("j0"), py::arg("j1"), py::arg("k"), py::arg("metric") = "ip",
        py::arg("exclude_self") = true,
        "Both directions' exact top-k of the tile (I, J) of the database's self-join, I = [i0, "
        "i1) and J = [j0, j1) equal or disjoint: (ids_i, keys_i, ids_j, keys_j), float64 keys "
        "(ids_j, keys_j are ids_i, keys_i on the diagonal).");
  m.def("analogy", &analogy, py::arg("terms"), py::arg("qterms"), py::arg("base"), py::arg("k"),
        py::arg("method") = "3cosadd", py::arg("weights") = py::none(), py::arg("n_pos") = 1,
        py::arg("eps") = 1e-6f, py::arg("exclude") = py::none(), py::arg("cos_slack") = 0.0f,
        py::arg("db") = py::none(),
        "Fused top-k of batched analogy queries over shared terms: (ids, combined scores). "
        "3cosmul with cos_slack > 0 ranks by upper bounds of the objective. db: the Database of "
        "base itself; few 3cosmul queries then filter on its int8 copy.");
}

}  // namespace tokenspace_py

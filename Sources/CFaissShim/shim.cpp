// The C side of faiss_shim.h. Only headers that do not need <omp.h> are included, so the
// shim builds with the Swift toolchain's clang; libfaiss.a brings OpenMP in at link time.
#include "faiss_shim.h"

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>

struct gl_ann {
    std::unique_ptr<faiss::Index> index;
};

namespace {
int fail(char *error, size_t size, const char *message) {
    if (error && size > 0) std::snprintf(error, size, "%s", message);
    return 1;
}

template <typename Body> int guarded(char *error, size_t size, Body body) {
    try {
        body();
        return 0;
    } catch (const std::exception &e) {
        return fail(error, size, e.what());
    } catch (...) {
        return fail(error, size, "unknown FAISS error");
    }
}
}  // namespace

extern "C" int gl_ann_build(const char *description, int dimension, int64_t count, const float *rows,
                            gl_ann **out, char *error, size_t error_size) {
    if (!description || !out || dimension <= 0 || count < 0 || (count > 0 && !rows))
        return fail(error, error_size, "invalid arguments");
    return guarded(error, error_size, [&] {
        std::unique_ptr<faiss::Index> index(faiss::index_factory(dimension, description, faiss::METRIC_INNER_PRODUCT));
        if (!index->is_trained) index->train(count, rows);
        index->add(count, rows);
        *out = new gl_ann{std::move(index)};
    });
}

extern "C" int gl_ann_set(gl_ann *ann, const char *name, double value, char *error, size_t error_size) {
    if (!ann || !name) return fail(error, error_size, "invalid arguments");
    return guarded(error, error_size, [&] { faiss::ParameterSpace().set_index_parameter(ann->index.get(), name, value); });
}

extern "C" int gl_ann_search(const gl_ann *ann, int64_t queries, const float *rows, int k,
                             float *scores, int64_t *labels, char *error, size_t error_size) {
    if (!ann || queries < 0 || k <= 0 || !rows || !scores || !labels) return fail(error, error_size, "invalid arguments");
    static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "FAISS labels are 64-bit");
    return guarded(error, error_size, [&] {
        ann->index->search(queries, rows, k, scores, reinterpret_cast<faiss::Index::idx_t *>(labels));
    });
}

extern "C" int gl_ann_save(const gl_ann *ann, const char *path, char *error, size_t error_size) {
    if (!ann || !path) return fail(error, error_size, "invalid arguments");
    return guarded(error, error_size, [&] { faiss::write_index(ann->index.get(), path); });
}

extern "C" int gl_ann_load(const char *path, gl_ann **out, char *error, size_t error_size) {
    if (!path || !out) return fail(error, error_size, "invalid arguments");
    return guarded(error, error_size, [&] {
        std::unique_ptr<faiss::Index> index(faiss::read_index(path));
        *out = new gl_ann{std::move(index)};
    });
}

extern "C" int64_t gl_ann_count(const gl_ann *ann) { return ann ? ann->index->ntotal : 0; }
extern "C" int gl_ann_dimension(const gl_ann *ann) { return ann ? ann->index->d : 0; }
extern "C" void gl_ann_free(gl_ann *ann) { delete ann; }

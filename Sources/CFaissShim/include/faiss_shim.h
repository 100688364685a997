#ifndef GLIMPSE_FAISS_SHIM_H
#define GLIMPSE_FAISS_SHIM_H

/* A C interface to the few FAISS calls Glimpse uses (Debian's libfaiss-dev ships FAISS as a
 * C++ static library without its C API): build an inner-product index from rows, search it,
 * save and load it. Every function catches FAISS's C++ exceptions and returns nonzero with
 * the message copied into `error`. */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_ann gl_ann;

/* Builds an index described by a FAISS factory string ("HNSW32,Flat", "IVF256,Flat", ...)
 * over `count` rows of `dimension` floats, trained on them when the index needs training. */
int gl_ann_build(const char *description, int dimension, int64_t count, const float *rows,
                 gl_ann **out, char *error, size_t error_size);

/* Sets a search-time parameter (`efSearch` for HNSW, `nprobe` for IVF). */
int gl_ann_set(gl_ann *index, const char *name, double value, char *error, size_t error_size);

/* The k best rows for each of `queries` rows: inner products into `scores`, row numbers into
 * `labels` (-1 where fewer than k were found). */
int gl_ann_search(const gl_ann *index, int64_t queries, const float *rows, int k,
                  float *scores, int64_t *labels, char *error, size_t error_size);

int gl_ann_save(const gl_ann *index, const char *path, char *error, size_t error_size);
int gl_ann_load(const char *path, gl_ann **out, char *error, size_t error_size);

int64_t gl_ann_count(const gl_ann *index);
int gl_ann_dimension(const gl_ann *index);
void gl_ann_free(gl_ann *index);

#ifdef __cplusplus
}
#endif

#endif

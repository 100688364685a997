#ifndef GLIMPSE_IMAGE_H
#define GLIMPSE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/// What a JPEG header says. `components` is 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK/YCCK).
typedef struct {
    int width, height, components, progressive;
} gl_jpeg_info;

/// Reads only the header. Returns 0, or -1 with a message in `message`.
int gl_jpeg_read_info(const uint8_t *data, size_t size, gl_jpeg_info *info,
                      char *message, size_t message_size);

/// Decodes to interleaved 8-bit RGB in `rgb` (exactly width * height * 3 bytes, checked
/// against the header). Gray is replicated into R, G and B; CMYK and YCCK are converted as
/// Pillow converts Adobe (inverted) CMYK. Warnings about damaged entropy data leave a usable
/// image, as in Pillow, but running out of data is an error ("Premature end of JPEG file"),
/// and so is a progressive file with more than `max_scans` scans.
/// Returns 0, or -1 with a message in `message`.
int gl_jpeg_decode_rgb(const uint8_t *data, size_t size, int max_scans,
                       uint8_t *rgb, size_t rgb_size, char *message, size_t message_size);

/// Writes `src` (w x h interleaved RGB) under EXIF orientation 2-8 into `dst`, which is
/// h x w for orientations 5-8 and w x h otherwise; the pixel mapping is Pillow's
/// `Image.transpose` as used by `ImageOps.exif_transpose`. Returns -1 for another orientation.
int gl_rgb_orient(const uint8_t *src, size_t w, size_t h, int orientation, uint8_t *dst);

#endif

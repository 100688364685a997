// JPEG decoding through libjpeg's own API rather than TurboJPEG's wrapper, for two controls
// the wrapper lacks: running out of data stops the decoder at once (instead of decoding the
// rest of a possibly huge image as gray and then failing), and the number of progressive
// scans is bounded by the caller. A progressive file of a few kilobytes can declare
// 170 million pixels and repeat tiny scans; each scan walks every block, so without a
// bound one such file takes minutes.
//
// libjpeg reports errors by longjmp; the jump lands in the C function that called setjmp
// below, never across Swift frames.

#include "glimpse_image.h"
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char *message;
    size_t message_size;
    int max_scans;
} gl_jpeg_errors;

static void set_message(gl_jpeg_errors *errors, const char *text) {
    if (errors->message_size == 0) return;
    snprintf(errors->message, errors->message_size, "%s", text);
}

static void fail(j_common_ptr cinfo) {
    gl_jpeg_errors *errors = (gl_jpeg_errors *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    set_message(errors, text);
    longjmp(errors->jump, 1);
}

/// Warnings (level -1) about damaged entropy data are ignored, as Pillow ignores them; the
/// damaged blocks decode as gray. Running out of data is the one warning that is fatal,
/// which is how Pillow reports a truncated file. Trace messages (level >= 0) are dropped.
static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) fail(cinfo);
}

static void on_progress(j_common_ptr cinfo) {
    gl_jpeg_errors *errors = (gl_jpeg_errors *)cinfo->err;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > errors->max_scans) {
        char text[128];
        snprintf(text, sizeof text, "progressive JPEG has more than %d scans", errors->max_scans);
        set_message(errors, text);
        longjmp(errors->jump, 1);
    }
}

static void start(struct jpeg_decompress_struct *cinfo, gl_jpeg_errors *errors, char *message,
                  size_t message_size, int max_scans) {
    memset(errors, 0, sizeof *errors);
    cinfo->err = jpeg_std_error(&errors->pub);
    errors->pub.error_exit = fail;
    errors->pub.emit_message = on_message;
    errors->message = message;
    errors->message_size = message_size;
    errors->max_scans = max_scans;
    if (message_size > 0) message[0] = 0;
}

static int read_header(struct jpeg_decompress_struct *cinfo, const uint8_t *data, size_t size,
                       gl_jpeg_errors *errors) {
    jpeg_create_decompress(cinfo);
    cinfo->progress = &errors->progress;
    errors->progress.progress_monitor = on_progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    int n = cinfo->num_components;
    if (!(n == 1 || n == 3 || n == 4)) {
        char text[128];
        snprintf(text, sizeof text, "has %d colour components; only gray, colour and CMYK JPEGs are supported", n);
        set_message(errors, text);
        return -1;
    }
    return 0;
}

int gl_jpeg_read_info(const uint8_t *data, size_t size, gl_jpeg_info *info,
                      char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    gl_jpeg_errors errors;
    start(&cinfo, &errors, message, message_size, 0);
    if (setjmp(errors.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int status = read_header(&cinfo, data, size, &errors);
    if (status == 0) {
        info->width = (int)cinfo.image_width;
        info->height = (int)cinfo.image_height;
        info->components = cinfo.num_components;
        info->progressive = cinfo.progressive_mode ? 1 : 0;
    }
    jpeg_destroy_decompress(&cinfo);
    return status;
}

/// Pillow opens CMYK JPEGs as Adobe-inverted ("CMYK;I": stored 255 means no ink) and converts
/// with R = (255-K) - (C * (255-K)) / 255 using its rounded MULDIV255; in stored values that
/// is k - muldiv255(255 - c, k) with k the stored K.
static void cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t width) {
    for (size_t x = 0; x < width; x++) {
        int k = cmyk[4 * x + 3];
        for (int c = 0; c < 3; c++) {
            int t = (255 - cmyk[4 * x + c]) * k + 128;
            int v = k - (((t >> 8) + t) >> 8);
            rgb[3 * x + c] = (uint8_t)(v < 0 ? 0 : v);
        }
    }
}

int gl_jpeg_decode_rgb(const uint8_t *data, size_t size, int max_scans,
                       uint8_t *rgb, size_t rgb_size, char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    gl_jpeg_errors errors;
    start(&cinfo, &errors, message, message_size, max_scans);
    if (setjmp(errors.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (read_header(&cinfo, data, size, &errors) != 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int cmyk = cinfo.num_components == 4;
    // libjpeg widens gray to RGB by copying the sample, as Pillow's L -> RGB does.
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    size_t width = cinfo.image_width, height = cinfo.image_height;
    if (rgb_size != width * height * 3) {
        set_message(&errors, "output buffer does not match the image size");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != width || cinfo.output_height != height ||
        cinfo.output_components != (cmyk ? 4 : 3)) {
        set_message(&errors, "decoder output does not match the header");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    // The CMYK row buffer belongs to libjpeg's image pool, so a longjmp cannot leak it.
    JSAMPARRAY cmyk_row = cmyk ? (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE,
                                                            (JDIMENSION)(width * 4), 1) : NULL;
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW row = cmyk ? cmyk_row[0] : rgb + y * width * 3;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            set_message(&errors, "decoder stopped before the last row");
            jpeg_destroy_decompress(&cinfo);
            return -1;
        }
        if (cmyk) cmyk_row_to_rgb(cmyk_row[0], rgb + y * width * 3, width);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

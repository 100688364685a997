// EXIF orientation as a strided copy. It is in C, walked in square tiles, because rotating a
// 170-megapixel photo reads one of the two images column by column: tiles keep both in
// cache, and the copy stays fast in unoptimised (sanitizer and fuzzing) builds too, where a
// per-pixel Swift loop took over 30 s on such an image.

#include "glimpse_image.h"
#include <stddef.h>

enum { TILE = 64 };

int gl_rgb_orient(const uint8_t *src, size_t w, size_t h, int orientation, uint8_t *dst) {
    // Output pixel (x, y) reads source pixel base + x * dx + y * dy (in pixels).
    ptrdiff_t W = (ptrdiff_t)w, H = (ptrdiff_t)h, base, dx, dy;
    switch (orientation) {
    case 2: base = W - 1;               dx = -1; dy = W;  break;  // FLIP_LEFT_RIGHT
    case 3: base = (H - 1) * W + W - 1; dx = -1; dy = -W; break;  // ROTATE_180
    case 4: base = (H - 1) * W;         dx = 1;  dy = -W; break;  // FLIP_TOP_BOTTOM
    case 5: base = 0;                   dx = W;  dy = 1;  break;  // TRANSPOSE
    case 6: base = (H - 1) * W;         dx = -W; dy = 1;  break;  // ROTATE_270 (clockwise)
    case 7: base = (H - 1) * W + W - 1; dx = -W; dy = -1; break;  // TRANSVERSE
    case 8: base = W - 1;               dx = W;  dy = -1; break;  // ROTATE_90 (anticlockwise)
    default: return -1;
    }
    ptrdiff_t ow = orientation >= 5 ? H : W, oh = orientation >= 5 ? W : H;
    for (ptrdiff_t ty = 0; ty < oh; ty += TILE) {
        ptrdiff_t ey = ty + TILE < oh ? ty + TILE : oh;
        for (ptrdiff_t tx = 0; tx < ow; tx += TILE) {
            ptrdiff_t ex = tx + TILE < ow ? tx + TILE : ow;
            for (ptrdiff_t y = ty; y < ey; y++) {
                uint8_t *d = dst + 3 * (y * ow + tx);
                const uint8_t *s = src + 3 * (base + tx * dx + y * dy);
                for (ptrdiff_t x = tx; x < ex; x++, d += 3, s += 3 * dx) {
                    d[0] = s[0]; d[1] = s[1]; d[2] = s[2];
                }
            }
        }
    }
    return 0;
}

/// Non-overlapping patches of images [B, C, H, W] as rows [B·(H/p)·(W/p), C·p·p], each row
/// ordered (channel, y, x) like a flattened conv kernel [out, C, p, p]. A stride-p conv is
/// then one GEMM against the kernel seen as [out, C·p·p] — the patch embedding of a ViT.
public func extractPatches(_ images: Tensor, patch p: Int) -> Tensor {
    Profiler.measure(.embedding) {
        precondition(images.rank == 4, "extractPatches: expected [B, C, H, W], got \(images.shape)")
        let (batch, channels, height, width) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let gh = height / p, gw = width / p
        let rowLength = channels * p * p
        let out = Tensor(zeros: [batch * gh * gw, rowLength])
        let src = images.data, dst = out.data
        Parallel.forEach(batch * gh, grain: 4) { range in
            for task in range {
                let b = task / gh, py = task % gh
                for px in 0..<gw {
                    var row = dst + ((b * gh + py) * gw + px) * rowLength
                    for c in 0..<channels {
                        let plane = src + (b * channels + c) * height * width
                        for y in 0..<p {
                            row.update(from: plane + (py * p + y) * width + px * p, count: p)
                            row += p
                        }
                    }
                }
            }
        }
        if let tape = GradientTape.current, let ri = tape.ref(images) {
            tape.record(output: out) { [unowned tape] g in
                // The same walk as above, adding each patch row back onto the image.
                let dImages = tape.gradient(ri)
                for task in 0 ..< batch * gh {
                    let b = task / gh, py = task % gh
                    for px in 0..<gw {
                        var row = g + ((b * gh + py) * gw + px) * rowLength
                        for c in 0..<channels {
                            let plane = dImages + (b * channels + c) * height * width
                            for y in 0..<p {
                                let target = plane + (py * p + y) * width + px * p
                                for x in 0..<p { target[x] += row[x] }
                                row += p
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

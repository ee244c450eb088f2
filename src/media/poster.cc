// PosterJpeg: the first scene's picture (or the title card) as a JPEG for the player.
#include "media/video_internal.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace storyloom::media {

Result<std::string> PosterJpeg(const VideoSpec& spec) {
  av::QuietLogs();
  SL_RETURN_IF_ERROR(CheckVideoSpec(spec));
  av::FramePtr picture;
  if (spec.scenes.empty()) {
    SL_ASSIGN_OR_RETURN(picture, RenderTitleCard(spec.title, spec.note, spec.width, spec.height,
                                                 AV_PIX_FMT_YUVJ420P));
  } else {
    SL_ASSIGN_OR_RETURN(av::FramePtr decoded, av::DecodePicture(spec.scenes[0].image_path));
    SL_ASSIGN_OR_RETURN(picture,
                        av::CoverScale(*decoded, spec.width, spec.height, AV_PIX_FMT_YUVJ420P));
  }
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (codec == nullptr) return Fail(Error::Internal("FFmpeg has no mjpeg encoder"));
  av::CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return Fail(Error::Internal("avcodec_alloc_context3 failed"));
  enc->width = spec.width;
  enc->height = spec.height;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = AVRational{1, 1};
  // Fixed quality: qscale 3 is a good-looking, compact poster.
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * 3;
  enc->thread_count = 1;
  if (int err = avcodec_open2(enc.get(), codec, nullptr); err < 0) {
    return Fail(Error::Internal("mjpeg: " + av::AvErrorText(err)));
  }
  picture->pts = 0;
  picture->quality = enc->global_quality;
  if (int err = avcodec_send_frame(enc.get(), picture.get()); err < 0) {
    return Fail(Error::Internal("mjpeg: " + av::AvErrorText(err)));
  }
  av::PacketPtr pkt(av_packet_alloc());
  if (!pkt) return Fail(Error::Internal("out of memory"));
  if (int err = avcodec_receive_packet(enc.get(), pkt.get()); err < 0) {
    return Fail(Error::Internal("mjpeg: " + av::AvErrorText(err)));
  }
  return std::string(reinterpret_cast<const char*>(pkt->data), static_cast<std::size_t>(pkt->size));
}

}  // namespace storyloom::media

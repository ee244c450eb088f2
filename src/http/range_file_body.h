// RangeFileBody: a Beast body type that writes the byte range [offset, offset + length) of a
// file, read in 64 KiB pieces (Beast 1.74's file_body always sends a whole file). Include
// only from Beast translation units (server.cc). Like any Beast message: one thread at a time.
#pragma once

#include <algorithm>
#include <boost/beast/core/file.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <utility>

namespace storyloom::http {

struct RangeFileBody {
  struct value_type {
    boost::beast::file file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(boost::beast::error_code& ec) {
      remain_ = body_.length;
      body_.file.seek(body_.offset, ec);
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (remain_ == 0) return boost::none;
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(remain_, sizeof(buf_)));
      const std::size_t n = body_.file.read(buf_, want, ec);
      if (ec) return boost::none;
      if (n == 0) {
        // The file shrank under us: the promised Content-Length cannot be honoured.
        ec = boost::beast::http::error::short_read;
        return boost::none;
      }
      remain_ -= n;
      return {{const_buffers_type(buf_, n), remain_ > 0}};
    }

   private:
    value_type& body_;
    std::uint64_t remain_ = 0;
    char buf_[64 * 1024];
  };
};

}  // namespace storyloom::http

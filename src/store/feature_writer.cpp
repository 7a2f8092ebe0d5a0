#include "store/feature_writer.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "store/duckdb_conn.h"

namespace bqx::store {

size_t format_double(double v, char* buf) {
  // std::to_chars(general, 17) produces the same text as %.17g, several times faster.
  auto res = std::to_chars(buf, buf + 32, v, std::chars_format::general, 17);
  return static_cast<size_t>(res.ptr - buf);
}

namespace {

std::filesystem::path temp_name(const std::filesystem::path& out, const char* suffix) {
  // Built with append(): GCC 12 reports a false -Wrestrict on "." + std::string.
  std::string name(".");
  name.append(out.filename().string()).append(".tmp-").append(std::to_string(::getpid())).append(suffix);
  return out.parent_path() / name;
}

class CsvSink final : public FeatureSink {
 public:
  CsvSink(std::filesystem::path out, std::filesystem::path tmp, FILE* f, size_t width)
      : out_(std::move(out)), tmp_(std::move(tmp)), file_(f), width_(width) {
    buffer_.reserve(kFlushAt + 65536);
  }
  ~CsvSink() override {
    if (file_) {
      std::fclose(file_);
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
    }
  }
  void header(const std::vector<std::string>& columns) {
    buffer_ += "pair,ts";
    for (const auto& c : columns) {
      buffer_ += ',';
      buffer_ += c;
    }
    buffer_ += '\n';
  }
  Status write(Pair pair, EpochMinute ts, const double* values) override {
    buffer_ += pair_name(pair);
    buffer_ += ',';
    buffer_ += format_iso(ts);
    char num[40];
    for (size_t i = 0; i < width_; ++i) {
      buffer_ += ',';
      if (!std::isnan(values[i])) buffer_.append(num, format_double(values[i], num));
    }
    buffer_ += '\n';
    if (buffer_.size() >= kFlushAt) return flush();
    return Status::Ok();
  }
  Status finish() override {
    BQX_TRY(flush());
    const bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    std::fclose(file_);
    file_ = nullptr;
    std::error_code ec;
    if (!ok) {
      std::filesystem::remove(tmp_, ec);
      return make_error(out_.string() + ": write failed: " + std::strerror(errno));
    }
    std::filesystem::rename(tmp_, out_, ec);
    if (ec) return make_error(out_.string() + ": cannot rename into place: " + ec.message());
    return Status::Ok();
  }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  Status flush() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      return make_error(out_.string() + ": write failed: " + std::strerror(errno));
    }
    buffer_.clear();
    return Status::Ok();
  }
  std::filesystem::path out_, tmp_;
  FILE* file_;
  size_t width_;
  std::string buffer_;
};

class ParquetSink final : public FeatureSink {
 public:
  static Result<std::unique_ptr<FeatureSink>> open(const std::filesystem::path& out,
                                                   const std::vector<std::string>& columns,
                                                   const std::vector<std::pair<std::string, std::string>>& metadata) {
    auto sink = std::unique_ptr<ParquetSink>(new ParquetSink());
    sink->out_ = out;
    sink->tmp_db_ = temp_name(out, ".duckdb");
    sink->tmp_parquet_ = temp_name(out, ".parquet");
    sink->width_ = columns.size();
    sink->metadata_ = metadata;
    std::error_code ec;
    std::filesystem::remove(sink->tmp_db_, ec);
    auto con = Connection::open(sink->tmp_db_);
    if (!con) return con.error();
    sink->con_ = std::make_unique<Connection>(std::move(*con));
    std::string ddl = "CREATE TABLE f(pair VARCHAR, ts TIMESTAMP";
    std::vector<ChunkAppender::Kind> kinds = {ChunkAppender::Kind::Varchar, ChunkAppender::Kind::Timestamp};
    for (const auto& c : columns) {
      ddl += ", \"" + c + "\" DOUBLE";
      kinds.push_back(ChunkAppender::Kind::Double);
    }
    ddl += ")";
    BQX_TRY(sink->con_->exec(ddl));
    auto app = ChunkAppender::create(*sink->con_, "f", kinds);
    if (!app) return app.error();
    sink->appender_ = std::make_unique<ChunkAppender>(std::move(*app));
    return std::unique_ptr<FeatureSink>(std::move(sink));
  }
  ~ParquetSink() override { cleanup(); }
  Status write(Pair pair, EpochMinute ts, const double* values) override {
    appender_->set_varchar(0, pair_name(pair));
    appender_->set_timestamp_minutes(1, ts);
    for (size_t i = 0; i < width_; ++i) appender_->set_double(2 + i, values[i]);
    return appender_->end_row();
  }
  Status finish() override {
    BQX_TRY(appender_->close());
    std::string kv;
    for (const auto& [k, v] : metadata_) kv += (kv.empty() ? "" : ", ") + k + ": " + sql_quote(v);
    BQX_TRY(con_->exec("COPY (SELECT * FROM f) TO " + sql_quote(tmp_parquet_.string()) +
                       " (FORMAT parquet, COMPRESSION zstd" + (kv.empty() ? "" : ", KV_METADATA {" + kv + "}") + ")"));
    std::error_code ec;
    std::filesystem::rename(tmp_parquet_, out_, ec);
    if (ec) return make_error(out_.string() + ": cannot rename into place: " + ec.message());
    cleanup();
    return Status::Ok();
  }

 private:
  ParquetSink() = default;
  void cleanup() {
    appender_.reset();
    con_.reset();
    std::error_code ec;
    std::filesystem::remove(tmp_db_, ec);
    std::filesystem::remove(tmp_db_.string() + ".wal", ec);
    std::filesystem::remove(tmp_parquet_, ec);
  }
  std::filesystem::path out_, tmp_db_, tmp_parquet_;
  size_t width_ = 0;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::unique_ptr<Connection> con_;
  std::unique_ptr<ChunkAppender> appender_;
};

}  // namespace

Result<std::unique_ptr<FeatureSink>> open_feature_sink(const std::filesystem::path& out,
                                                       const std::vector<std::string>& columns,
                                                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  const std::string ext = out.extension().string();
  if (ext == ".parquet") return ParquetSink::open(out, columns, metadata);
  if (ext != ".csv") return make_error(out.string() + ": output must end in .csv or .parquet (" + ext + ")");
  const auto tmp = temp_name(out, ".csv");
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return make_error(out.string() + ": cannot create: " + std::strerror(errno));
  auto sink = std::make_unique<CsvSink>(out, tmp, f, columns.size());
  sink->header(columns);
  return std::unique_ptr<FeatureSink>(std::move(sink));
}

}  // namespace bqx::store

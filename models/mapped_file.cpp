#include "models/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/error.h"

namespace vkllm {

MappedFile::MappedFile(const std::string& path, size_t min_size, const char* kind) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || size_t(st.st_size) < min_size) {
    ::close(fd);
    throw Error(path + ": too small to be " + kind);
  }
  size_ = size_t(st.st_size);
  void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw Error("cannot map " + path + ": " + std::strerror(errno));
  data_ = static_cast<const uint8_t*>(m);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace vkllm

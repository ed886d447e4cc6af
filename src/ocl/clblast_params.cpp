// Reads CLBlast's current kernel parameters for a device: the one thing
// its C API lacks (clblast::RetrieveParameters is C++ only). The tuner
// (src/ocl/tune.c) needs them to time CLBlast's defaults as a candidate
// and to put them back; nothing else in gancl is C++.
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

extern "C" int ocl_clblast_params(cl_device_id device, const char *kernel, char (*names)[32], size_t *values,
                                  int cap);

// The parameters sorted by name into names/values (at most cap); returns
// their count, or a negative CLBlast status.
extern "C" int ocl_clblast_params(cl_device_id device, const char *kernel, char (*names)[32], size_t *values,
                                  int cap)
{
    try {
        std::unordered_map<std::string, size_t> m;
        clblast::StatusCode s = clblast::RetrieveParameters(device, kernel, clblast::Precision::kSingle, m);
        if (s != clblast::StatusCode::kSuccess) return static_cast<int>(s) < 0 ? static_cast<int>(s) : -1;
        std::vector<std::pair<std::string, size_t>> v(m.begin(), m.end());
        std::sort(v.begin(), v.end());
        int n = 0;
        for (const auto &e : v) {
            if (n >= cap || e.first.size() >= 32) return -1;
            std::snprintf(names[n], 32, "%s", e.first.c_str());
            values[n++] = e.second;
        }
        return n;
    } catch (...) {
        return -1;
    }
}

# node-gyp build of the vila-ts native addon (plain C, Node-API).
# The kernels (native/kernels.c) are compiled three times into static libraries, once per
# instruction set, each with its own flags; the addon links all three and picks one at load time
# (__builtin_cpu_supports), so the binary can move between x86-64 machines. No -march=native.
{
  "target_defaults": {
    "cflags!": ["-O2", "-O0", "-fno-omit-frame-pointer"],
    "cflags": ["-std=gnu11", "-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast",
               "-fvisibility=hidden", "-fPIC", "-Wall", "-Wno-unused-function"],
    "xcode_settings": {"OTHER_CFLAGS": ["-std=gnu11", "-O3", "-fno-math-errno", "-ffp-contract=fast"]}
  },
  "conditions": [
    ["target_arch=='x64' or target_arch=='ia32'", {
      "targets": [
        {
          "target_name": "vila_kernels_avx512",
          "type": "static_library",
          "sources": ["native/kernels.c"],
          "defines": ["VN_ISA=avx512"],
          "cflags": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mf16c"]
        },
        {
          "target_name": "vila_kernels_avx2",
          "type": "static_library",
          "sources": ["native/kernels.c"],
          "defines": ["VN_ISA=avx2"],
          "cflags": ["-mavx2", "-mfma", "-mf16c"]
        },
        {
          "target_name": "vila_kernels_generic",
          "type": "static_library",
          "sources": ["native/kernels.c"],
          "defines": ["VN_ISA=generic"]
        },
        {
          "target_name": "vila_native",
          "sources": ["native/addon.c", "native/addon_nn.c", "native/pool.c"],
          "dependencies": ["vila_kernels_avx512", "vila_kernels_avx2", "vila_kernels_generic"],
          "defines": ["VN_HAVE_X86=1"],
          "libraries": ["-lpthread"]
        }
      ]
    }, {
      "targets": [
        {
          "target_name": "vila_kernels_generic",
          "type": "static_library",
          "sources": ["native/kernels.c"],
          "defines": ["VN_ISA=generic"]
        },
        {
          "target_name": "vila_native",
          "sources": ["native/addon.c", "native/addon_nn.c", "native/pool.c"],
          "dependencies": ["vila_kernels_generic"],
          "libraries": ["-lpthread"]
        }
      ]
    }]
  ]
}

{
  "comment": "CPU-only fallback build through node-gyp, for when cmake-js cannot run. Reads native/sources.json like CMakeLists.txt. node-gyp cannot set flags per file, so on x64 the SIMD kernels (GEMM micro-kernels and GELU; keys cpu_avx512, cpu_avx2) are static libraries of their own, built with their instruction sets; elsewhere they compile into the addon as stubs.",
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"]
  },
  "targets": [
    {
      "target_name": "sam_cobot",
      "sources": [
        "<!@(node -p \"const s=require('./native/sources.json'); [...s.core, ...s.cpu, ...s.ops, ...s.addon].join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["sam_cobot_avx512", "sam_cobot_avx2"]
        }, {
          "sources": ["<!@(node -p \"const s=require('./native/sources.json'); [...s.cpu_avx512, ...s.cpu_avx2].join(' ')\")"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "sam_cobot_avx512",
          "type": "static_library",
          "sources": ["<!@(node -p \"require('./native/sources.json').cpu_avx512.join(' ')\")"],
          "cflags_cc": ["-fPIC", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mfma"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mfma"]}
        },
        {
          "target_name": "sam_cobot_avx2",
          "type": "static_library",
          "sources": ["<!@(node -p \"require('./native/sources.json').cpu_avx2.join(' ')\")"],
          "cflags_cc": ["-fPIC", "-mavx2", "-mfma"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"]}
        }
      ]
    }]
  ]
}

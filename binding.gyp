{
  "comment": "CPU-only fallback build through node-gyp, for when cmake-js cannot run. Reads native/sources.json like CMakeLists.txt.",
  "variables": {
    "sources_json": "<!(node -p \"JSON.stringify(require('./native/sources.json'))\")"
  },
  "targets": [
    {
      "target_name": "sam_cobot",
      "sources": [
        "<!@(node -p \"const s=require('./native/sources.json'); [...s.core, ...s.cpu, ...s.ops, ...s.addon].join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "conditions": [
        ["target_arch=='x64'", {
          "libraries": ["<(module_root_dir)/build/Release/obj.target/sam_cobot_simd.a"],
          "dependencies": ["sam_cobot_simd"]
        }]
      ]
    }
  ]
}

# Generates a C++ source that holds every schema/NNNN_name.sql file, so the binary carries its
# migrations. Called at build time with SCHEMA_DIR and OUTPUT.
file(GLOB files "${SCHEMA_DIR}/[0-9][0-9][0-9][0-9]_*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME)
  string(SUBSTRING "${name}" 0 4 version)
  math(EXPR version "${version}")
  file(READ "${f}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"mwsql(${sql})mwsql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from schema/ by cmake/embed_schema.cmake. Do not edit.\n#include \"store/migrations.hpp\"\n\nnamespace markerwatch::store {\n\nconst std::vector<SchemaFile>& embedded_schema() {\n  static const std::vector<SchemaFile> files = {\n${body}  };\n  return files;\n}\n\n}  // namespace markerwatch::store\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)

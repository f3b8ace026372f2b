# Copies the staged CAF install (STAGE) into the shared prefix (PREFIX): each
# file written beside its final name and renamed over it, so a build that
# links from PREFIX meanwhile sees the old file or the new one, never a
# partial one; PREFIX/complete, written last, tells later configures that
# nothing needs building.
file(GLOB_RECURSE _files RELATIVE ${STAGE} ${STAGE}/*)
string(RANDOM LENGTH 8 _tag)
foreach(_f IN LISTS _files)
  get_filename_component(_dir ${PREFIX}/${_f} DIRECTORY)
  file(MAKE_DIRECTORY ${_dir})
  file(COPY_FILE ${STAGE}/${_f} ${PREFIX}/${_f}.${_tag})
  file(RENAME ${PREFIX}/${_f}.${_tag} ${PREFIX}/${_f})
endforeach()
file(WRITE ${PREFIX}/complete.${_tag} "CAF 0.17.6 from ${STAGE}\n")
file(RENAME ${PREFIX}/complete.${_tag} ${PREFIX}/complete)

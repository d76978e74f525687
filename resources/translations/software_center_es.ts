<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es_ES">
<context>
    <name>CatalogPage</name>
    <message>
        <source>Your organization offers no operating systems to this computer.</source>
        <translation>Su organización no ofrece ningún sistema operativo para este equipo.</translation>
    </message>
    <message>
        <source>Nothing matches “%1”. Try fewer or other words.</source>
        <translation>Nada coincide con «%1». Pruebe con menos palabras o con otras.</translation>
    </message>
    <message>
        <source>Nothing is required for this computer.</source>
        <translation>No hay nada obligatorio para este equipo.</translation>
    </message>
    <message>
        <source>%1 of %2 shown</source>
        <translation>Se muestran %1 de %2</translation>
    </message>
    <message>
        <source>A restart is pending: “%1” continues after the computer restarts. Restart it under Progress, then start another.</source>
        <translation>Hay un reinicio pendiente: «%1» continúa cuando se reinicie el equipo. Reinícielo en Progreso y después inicie otra.</translation>
    </message>
    <message>
        <source>An installation is running. You can follow it under Progress.</source>
        <translation>Hay una instalación en curso. Puede seguirla en Progreso.</translation>
    </message>
    <message>
        <source>“%1” has not finished yet. Resume it first, then start another.</source>
        <translation>«%1» aún no ha terminado. Reanúdela primero y después inicie otra.</translation>
    </message>
    <message>
        <source>Operating Systems</source>
        <translation>Sistemas operativos</translation>
    </message>
    <message>
        <source>Search (Ctrl+F)</source>
        <translation>Buscar (Ctrl+F)</translation>
    </message>
    <message>
        <source>Search operating systems</source>
        <translation>Buscar sistemas operativos</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Buscar</translation>
    </message>
    <message>
        <source>Clear the search</source>
        <translation>Borrar la búsqueda</translation>
    </message>
    <message>
        <source>Sho&amp;w:</source>
        <translation>&amp;Mostrar:</translation>
    </message>
    <message>
        <source>S&amp;ort by:</source>
        <translation>&amp;Ordenar por:</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Mostrar</translation>
    </message>
    <message>
        <source>Sort by</source>
        <translation>Ordenar por</translation>
    </message>
    <message>
        <source>All</source>
        <translation>Todo</translation>
    </message>
    <message>
        <source>Required</source>
        <translation>Obligatorio</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nombre</translation>
    </message>
    <message>
        <source>Publisher</source>
        <translation>Editor</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>List view</source>
        <translation>Vista de lista</translation>
    </message>
    <message>
        <source>Tile view</source>
        <translation>Vista de mosaico</translation>
    </message>
    <message>
        <source>Operating systems</source>
        <translation>Sistemas operativos</translation>
    </message>
</context>
<context>
    <name>ConfirmInstallDialog</name>
    <message>
        <source>Install %1?</source>
        <translation>¿Instalar %1?</translation>
    </message>
    <message>
        <source>This upgrade changes your computer&apos;s operating system</source>
        <translation>Esta actualización cambia el sistema operativo de su equipo</translation>
    </message>
    <message>
        <source>Install %1 again?</source>
        <translation>¿Instalar %1 de nuevo?</translation>
    </message>
    <message>
        <source>%1 will be installed on this computer.</source>
        <translation>Se instalará %1 en este equipo.</translation>
    </message>
    <message>
        <source>It downloads %1, each part just before it is needed.</source>
        <translation>Descarga %1, cada parte justo antes de necesitarla.</translation>
    </message>
    <message>
        <source>It takes about %1.</source>
        <translation>Tarda aproximadamente %1.</translation>
    </message>
    <message>
        <source>You can keep using the computer until it restarts.</source>
        <translation>Puede seguir usando el equipo hasta que se reinicie.</translation>
    </message>
    <message>
        <source>Your computer will restart during the upgrade. Save your work and close your apps first.</source>
        <translation>Su equipo se reiniciará durante la actualización. Guarde su trabajo y cierre sus aplicaciones antes de continuar.</translation>
    </message>
    <message>
        <source>I have &amp;saved my work and closed my apps</source>
        <translation>He &amp;guardado mi trabajo y cerrado mis aplicaciones</translation>
    </message>
    <message>
        <source>&amp;Reinstall</source>
        <translation>&amp;Reinstalar</translation>
    </message>
    <message>
        <source>&amp;Install</source>
        <translation>&amp;Instalar</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Cancelar</translation>
    </message>
</context>
<context>
    <name>DeadlineBanner</name>
    <message>
        <source>&amp;Install now</source>
        <translation>&amp;Instalar ahora</translation>
    </message>
    <message>
        <source>Install the required upgrade now</source>
        <translation>Instalar ahora la actualización obligatoria</translation>
    </message>
    <message>
        <source>“%1” is required, but it cannot start now: %2 It starts by itself when it can.</source>
        <translation>«%1» es obligatoria, pero ahora no puede empezar: %2 Empezará sola en cuanto pueda.</translation>
    </message>
    <message>
        <source>“%1” is required: it starts by itself in %2.</source>
        <translation>«%1» es obligatoria: empieza sola dentro de %2.</translation>
    </message>
    <message>
        <source>“%1” is required: it is starting now.</source>
        <translation>«%1» es obligatoria: está empezando ahora.</translation>
    </message>
</context>
<context>
    <name>DeploymentDelegate</name>
    <message>
        <source>Required</source>
        <translation>Obligatorio</translation>
    </message>
</context>
<context>
    <name>DeploymentModel</name>
    <message>
        <source>Installed · can be reinstalled</source>
        <translation>Instalado · se puede reinstalar</translation>
    </message>
    <message>
        <source>The last attempt failed · can be tried again</source>
        <translation>El último intento falló · se puede reintentar</translation>
    </message>
    <message>
        <source>Installing · not finished yet</source>
        <translation>Instalando · aún no ha terminado</translation>
    </message>
    <message>
        <source>Required by %1</source>
        <translation>Obligatorio antes del %1</translation>
    </message>
    <message>
        <source>Available · %1 to download</source>
        <translation>Disponible · %1 para descargar</translation>
    </message>
    <message>
        <source>Available · ready to install</source>
        <translation>Disponible · listo para instalar</translation>
    </message>
</context>
<context>
    <name>DetailsPane</name>
    <message>
        <source>Nothing to download</source>
        <translation>Nada que descargar</translation>
    </message>
    <message>
        <source>%1 · nothing downloaded yet</source>
        <translation>%1 · aún no se ha descargado nada</translation>
    </message>
    <message>
        <source>%1 · all of it is already on this computer</source>
        <translation>%1 · todo está ya en este equipo</translation>
    </message>
    <message>
        <source>%1 · %2 already on this computer</source>
        <translation>%1 · %2 ya en este equipo</translation>
    </message>
    <message>
        <source>About %1</source>
        <translation>Aproximadamente %1</translation>
    </message>
    <message>
        <source>Yes, your computer restarts during the installation</source>
        <translation>Sí, su equipo se reinicia durante la instalación</translation>
    </message>
    <message>
        <source>No</source>
        <translation>No</translation>
    </message>
    <message>
        <source>No deadline</source>
        <translation>Sin fecha límite</translation>
    </message>
    <message>
        <source>&amp;Install</source>
        <translation>&amp;Instalar</translation>
    </message>
    <message>
        <source>Downloaded in advance: %1 of %2</source>
        <translation>Descargado por adelantado: %1 de %2</translation>
    </message>
    <message>
        <source>Re&amp;install</source>
        <translation>Re&amp;instalar</translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation>&amp;Reintentar</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Reanudar</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>Failed on %1: %2</source>
        <translation>Falló el %1: %2</translation>
    </message>
    <message>
        <source>%1 (error %2)</source>
        <translation>%1 (error %2)</translation>
    </message>
    <message>
        <source>Select an operating system to see its details.</source>
        <translation>Seleccione un sistema operativo para ver sus detalles.</translation>
    </message>
    <message>
        <source>Download size</source>
        <translation>Tamaño de descarga</translation>
    </message>
    <message>
        <source>Estimated time</source>
        <translation>Tiempo estimado</translation>
    </message>
    <message>
        <source>Restart</source>
        <translation>Reinicio</translation>
    </message>
    <message>
        <source>Available from</source>
        <translation>Disponible desde</translation>
    </message>
    <message>
        <source>Deadline</source>
        <translation>Fecha límite</translation>
    </message>
    <message>
        <source>Content source</source>
        <translation>Origen del contenido</translation>
    </message>
    <message>
        <source>Last attempt</source>
        <translation>Último intento</translation>
    </message>
    <message>
        <source>Deployment ID</source>
        <translation>Id. de implementación</translation>
    </message>
    <message>
        <source>About this upgrade</source>
        <translation>Acerca de esta actualización</translation>
    </message>
    <message>
        <source>Install</source>
        <translation>Instalar</translation>
    </message>
    <message>
        <source>Why this cannot be installed</source>
        <translation>Por qué no se puede instalar</translation>
    </message>
</context>
<context>
    <name>FailureView</name>
    <message>
        <source>An app or driver on this computer is not compatible with Windows 11 and blocks the upgrade. Windows Setup stopped after its compatibility check; nothing on the computer was changed.</source>
        <translation>Una aplicación o un controlador de este equipo no es compatible con Windows 11 y bloquea la actualización. El programa de instalación de Windows se detuvo tras la comprobación de compatibilidad; no se ha cambiado nada en el equipo.</translation>
    </message>
    <message>
        <source>Uninstall or update the app that blocks the upgrade (the log names it), then start the upgrade again. If you cannot remove it yourself, contact your IT department.</source>
        <translation>Desinstale o actualice la aplicación que bloquea la actualización (el registro indica cuál es) y vuelva a iniciar la actualización. Si no puede quitarla usted, póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>There is not enough free disk space for Windows Setup to upgrade this computer.</source>
        <translation>No hay suficiente espacio libre en disco para que el programa de instalación de Windows actualice este equipo.</translation>
    </message>
    <message>
        <source>Free up disk space (empty the Recycle Bin, remove large files you no longer need, uninstall unused apps), then start the upgrade again. What was already downloaded is kept.</source>
        <translation>Libere espacio en disco (vacíe la Papelera de reciclaje, quite archivos grandes que ya no necesite, desinstale aplicaciones que no use) y vuelva a iniciar la actualización. Lo que ya se descargó se conserva.</translation>
    </message>
    <message>
        <source>Windows Setup only ran its compatibility check. It found no problems, but the upgrade itself did not run.</source>
        <translation>El programa de instalación de Windows solo realizó la comprobación de compatibilidad. No encontró problemas, pero la actualización en sí no se ejecutó.</translation>
    </message>
    <message>
        <source>Start the upgrade again. If this happens again, contact your IT department.</source>
        <translation>Vuelva a iniciar la actualización. Si vuelve a ocurrir, póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>A device driver stopped the upgrade, and Windows went back to the previous version. Your files, apps and settings are as they were.</source>
        <translation>Un controlador de dispositivo detuvo la actualización y Windows volvió a la versión anterior. Sus archivos, aplicaciones y configuración siguen como estaban.</translation>
    </message>
    <message>
        <source>Disconnect external devices (docks, printers, USB drives), install the latest drivers, then start the upgrade again. If it fails again, contact your IT department.</source>
        <translation>Desconecte los dispositivos externos (bases de acoplamiento, impresoras, unidades USB), instale los controladores más recientes y vuelva a iniciar la actualización. Si vuelve a fallar, póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>There is not enough space on the disk for the upgrade&apos;s content or for the upgrade itself.</source>
        <translation>No hay suficiente espacio en el disco para el contenido de la actualización o para la propia actualización.</translation>
    </message>
    <message>
        <source>Free up disk space, then start the upgrade again. What was already downloaded is kept.</source>
        <translation>Libere espacio en disco y vuelva a iniciar la actualización. Lo que ya se descargó se conserva.</translation>
    </message>
    <message>
        <source>Software Center cannot write to its data folder, so the upgrade stopped. Nothing was lost: the upgrade is kept where it stopped.</source>
        <translation>El Centro de software no puede escribir en su carpeta de datos, así que la actualización se detuvo. No se ha perdido nada: la actualización se conserva donde se detuvo.</translation>
    </message>
    <message>
        <source>Make sure the data folder can be written (and its disk is not full), then continue the upgrade with Resume. If you cannot, contact your IT department.</source>
        <translation>Asegúrese de que se puede escribir en la carpeta de datos (y de que su disco no está lleno) y continúe la actualización con Reanudar. Si no puede, póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>This computer does not have enough memory for the upgrade.</source>
        <translation>Este equipo no tiene suficiente memoria para la actualización.</translation>
    </message>
    <message>
        <source>Contact your IT department: this computer may need more memory before it can be upgraded.</source>
        <translation>Póngase en contacto con su departamento de TI: puede que este equipo necesite más memoria antes de poder actualizarse.</translation>
    </message>
    <message>
        <source>Part of the upgrade&apos;s content could not be downloaded, or a downloaded file did not match what your organization published. Nothing that failed the check was used.</source>
        <translation>No se pudo descargar parte del contenido de la actualización, o un archivo descargado no coincidía con lo que publicó su organización. No se usó nada que no superase la comprobación.</translation>
    </message>
    <message>
        <source>Check the internet connection, then start the upgrade again: downloads continue where they stopped. If it keeps failing, contact your IT department.</source>
        <translation>Compruebe la conexión a Internet y vuelva a iniciar la actualización: las descargas continúan donde se detuvieron. Si sigue fallando, póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>A program the upgrade needs could not be started.</source>
        <translation>No se pudo iniciar un programa que necesita la actualización.</translation>
    </message>
    <message>
        <source>Contact your IT department and give them the log.</source>
        <translation>Póngase en contacto con su departamento de TI y entrégueles el registro.</translation>
    </message>
    <message>
        <source>The upgrade was cancelled.</source>
        <translation>Se canceló la actualización.</translation>
    </message>
    <message>
        <source>Part of the upgrade&apos;s content is missing on your organization&apos;s server. This is not a problem with this computer or its connection.</source>
        <translation>Falta parte del contenido de la actualización en el servidor de su organización. No es un problema de este equipo ni de su conexión.</translation>
    </message>
    <message>
        <source>Contact your IT department: the content needs to be published again. Then choose Retry.</source>
        <translation>Póngase en contacto con su departamento de TI: hay que volver a publicar el contenido. Después elija Reintentar.</translation>
    </message>
    <message>
        <source>A downloaded file did not match what your organization published, so it was not used.</source>
        <translation>Un archivo descargado no coincidía con lo que publicó su organización, así que no se usó.</translation>
    </message>
    <message>
        <source>Part of the upgrade&apos;s content cannot be downloaded over this connection.</source>
        <translation>Parte del contenido de la actualización no se puede descargar con esta conexión.</translation>
    </message>
    <message>
        <source>Connect to the office network, or ask your IT department to publish the content to the cloud.</source>
        <translation>Conéctese a la red de la oficina o pida a su departamento de TI que publique el contenido en la nube.</translation>
    </message>
    <message>
        <source>Software Center cannot store the upgrade&apos;s content in its data folder.</source>
        <translation>Centro de software no puede guardar el contenido de la actualización en su carpeta de datos.</translation>
    </message>
    <message>
        <source>Make sure the data folder can be written and its disk is not full, then start the upgrade again.</source>
        <translation>Asegúrese de que se puede escribir en la carpeta de datos y de que su disco no está lleno, y vuelva a iniciar la actualización.</translation>
    </message>
    <message>
        <source>You can continue it later from where it stopped.</source>
        <translation>Puede continuarla más tarde desde donde se detuvo.</translation>
    </message>
    <message>
        <source>A step took longer than your IT department allows and was stopped.</source>
        <translation>Un paso tardó más de lo que permite su departamento de TI y se detuvo.</translation>
    </message>
    <message>
        <source>Start the upgrade again. If it happens again, contact your IT department.</source>
        <translation>Vuelva a iniciar la actualización. Si vuelve a ocurrir, póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>A clean-up from an earlier upgrade attempt has not finished yet.</source>
        <translation>Aún no ha terminado una limpieza de un intento de actualización anterior.</translation>
    </message>
    <message>
        <source>Restart the computer, then start the upgrade again.</source>
        <translation>Reinicie el equipo y vuelva a iniciar la actualización.</translation>
    </message>
    <message>
        <source>The computer does not meet the minimum hardware requirements for the upgrade.</source>
        <translation>El equipo no cumple los requisitos mínimos de hardware para la actualización.</translation>
    </message>
    <message>
        <source>Contact your IT department: this computer may need new hardware before it can be upgraded.</source>
        <translation>Póngase en contacto con su departamento de TI: puede que este equipo necesite hardware nuevo antes de poder actualizarse.</translation>
    </message>
    <message>
        <source>The computer does not meet the minimum requirements to install the upgrade.</source>
        <translation>El equipo no cumple los requisitos mínimos para instalar la actualización.</translation>
    </message>
    <message>
        <source>The upgrade does not match the Windows installed on this computer (edition, architecture or language).</source>
        <translation>La actualización no corresponde al Windows instalado en este equipo (edición, arquitectura o idioma).</translation>
    </message>
    <message>
        <source>Contact your IT department: this computer needs a different upgrade.</source>
        <translation>Póngase en contacto con su departamento de TI: este equipo necesita otra actualización.</translation>
    </message>
    <message>
        <source>The upgrade could not finish.</source>
        <translation>La actualización no pudo terminar.</translation>
    </message>
    <message>
        <source>Start the upgrade again. If it fails again, open the log and give it to your IT department.</source>
        <translation>Vuelva a iniciar la actualización. Si vuelve a fallar, abra el registro y entrégueselo a su departamento de TI.</translation>
    </message>
    <message>
        <source>A step of the upgrade ended with an error.</source>
        <translation>Un paso de la actualización terminó con un error.</translation>
    </message>
    <message>
        <source>The log is in %1</source>
        <translation>El registro está en %1</translation>
    </message>
    <message>
        <source>The upgrade could not finish</source>
        <translation>La actualización no pudo terminar</translation>
    </message>
    <message>
        <source>Re&amp;try</source>
        <translation>Rein&amp;tentar</translation>
    </message>
    <message>
        <source>Start the upgrade again</source>
        <translation>Volver a empezar la actualización</translation>
    </message>
    <message>
        <source>Hide technical &amp;details</source>
        <translation>Ocultar los &amp;detalles técnicos</translation>
    </message>
    <message>
        <source>Technical &amp;details</source>
        <translation>&amp;Detalles técnicos</translation>
    </message>
    <message>
        <source>Open &amp;log</source>
        <translation>Abrir el &amp;registro</translation>
    </message>
    <message>
        <source>Open the task sequence log</source>
        <translation>Abrir el registro de la secuencia de tareas</translation>
    </message>
    <message>
        <source>Error code: %1</source>
        <translation>Código de error: %1</translation>
    </message>
    <message>
        <source>Error code: none</source>
        <translation>Código de error: ninguno</translation>
    </message>
    <message>
        <source>Failed step: %1</source>
        <translation>Paso con errores: %1</translation>
    </message>
    <message>
        <source>The app that blocks it, as Windows Setup names it: “%1”.</source>
        <translation>La aplicación que la bloquea, según el programa de instalación de Windows: «%1».</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Qué hacer: %1</translation>
    </message>
    <message>
        <source>Details: %1</source>
        <translation>Detalles: %1</translation>
    </message>
</context>
<context>
    <name>HistoryDetailDialog</name>
    <message>
        <source>%1 of %2 steps finished</source>
        <translation>%1 de %2 pasos terminados</translation>
    </message>
    <message>
        <source>%1. %2: %3</source>
        <translation>%1. %2: %3</translation>
    </message>
    <message>
        <source>%1 (error %2)</source>
        <translation>%1 (error %2)</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Inicio</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Duración</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>Pasos</translation>
    </message>
    <message>
        <source>Downloaded</source>
        <translation>Descargado</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Error</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>Registro</translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation>&amp;Reintentar</translation>
    </message>
    <message>
        <source>Open &amp;log</source>
        <translation>Abrir el re&amp;gistro</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>&amp;Cerrar</translation>
    </message>
</context>
<context>
    <name>HistoryModel</name>
    <message>
        <source>Started %1</source>
        <translation>Iniciada el %1</translation>
    </message>
    <message>
        <source>%1 downloaded</source>
        <translation>%1 descargados</translation>
    </message>
    <message>
        <source>error %1</source>
        <translation>error %1</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Embedded demo site %1</source>
        <translation>Sitio de demostración integrado %1</translation>
    </message>
    <message>
        <source>Connection type. You can change it in Options.</source>
        <translation>Tipo de conexión. Puede cambiarlo en Opciones.</translation>
    </message>
    <message>
        <source>Connection type: %1</source>
        <translation>Tipo de conexión: %1</translation>
    </message>
    <message>
        <source>This site is not trusted.</source>
        <translation>Este sitio no es de confianza.</translation>
    </message>
    <message>
        <source>This site&apos;s catalog cannot be used.</source>
        <translation>No se puede usar el catálogo de este sitio.</translation>
    </message>
    <message>
        <source>Your IT department needs to correct the site. Contact them if this lasts.</source>
        <translation>Su departamento de TI tiene que corregir el sitio. Póngase en contacto con él si esto continúa.</translation>
    </message>
    <message>
        <source>This site&apos;s catalog is larger than Software Center accepts.</source>
        <translation>El catálogo de este sitio es más grande de lo que Centro de software acepta.</translation>
    </message>
    <message>
        <source>Check your network connection, then try again.</source>
        <translation>Compruebe su conexión de red y vuelva a intentarlo.</translation>
    </message>
    <message>
        <source>The site&apos;s security certificate is not trusted.</source>
        <translation>El certificado de seguridad del sitio no es de confianza.</translation>
    </message>
    <message>
        <source>Software Center did not connect, to keep this computer safe. If your organization uses its own certificate authority, your IT department can configure it.</source>
        <translation>Centro de software no se conectó, para proteger este equipo. Si su organización usa su propia entidad de certificación, su departamento de TI puede configurarla.</translation>
    </message>
    <message>
        <source>Your organization&apos;s site needs a sign-in token that this computer does not have or that is no longer valid. Contact your IT department.</source>
        <translation>El sitio de su organización necesita un token de inicio de sesión que este equipo no tiene o que ya no es válido. Póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>The catalog is not signed with the key your IT department set on this computer, so nothing from it is shown or run. Contact your IT department.</source>
        <translation>El catálogo no está firmado con la clave que su departamento de TI configuró en este equipo, así que no se muestra ni se ejecuta nada de él. Póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>The site key set on this computer cannot be used.</source>
        <translation>La clave de sitio configurada en este equipo no se puede usar.</translation>
    </message>
    <message>
        <source>Contact your IT department: the key they set is damaged or is not a site key.</source>
        <translation>Póngase en contacto con su departamento de TI: la clave que configuró está dañada o no es una clave de sitio.</translation>
    </message>
    <message>
        <source>The site could not be built from its source.</source>
        <translation>No se pudo generar el sitio a partir de su origen.</translation>
    </message>
    <message>
        <source>Correct the part of the source the details name, then build the site again.</source>
        <translation>Corrija la parte del origen que indican los detalles y vuelva a generar el sitio.</translation>
    </message>
    <message>
        <source>The site&apos;s address is not one Software Center can use.</source>
        <translation>Software Center no puede usar la dirección del sitio.</translation>
    </message>
    <message>
        <source>Check the site&apos;s address in Options, or contact your IT department.</source>
        <translation>Compruebe la dirección del sitio en Opciones o póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>The site sent Software Center to an address it does not accept.</source>
        <translation>El sitio envió a Centro de software a una dirección que no acepta.</translation>
    </message>
    <message>
        <source>Contact your IT department: the site&apos;s redirection needs correcting.</source>
        <translation>Póngase en contacto con su departamento de TI: hay que corregir la redirección del sitio.</translation>
    </message>
    <message>
        <source>Sign-in required.</source>
        <translation>Es necesario iniciar sesión.</translation>
    </message>
    <message>
        <source>Software Center can&apos;t reach your organization&apos;s site right now.</source>
        <translation>El Centro de software no puede conectar ahora con el sitio de su organización.</translation>
    </message>
    <message>
        <source>The Software Center service could not be started.</source>
        <translation>No se pudo iniciar el servicio de Centro de software.</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>Something went wrong while reading the catalog.</source>
        <translation>Algo salió mal al leer el catálogo.</translation>
    </message>
    <message>
        <source>Software Center</source>
        <translation>Centro de software</translation>
    </message>
    <message>
        <source>Signed catalog</source>
        <translation>Catálogo firmado</translation>
    </message>
    <message>
        <source>The catalog&apos;s signature matches the site key set on this computer.</source>
        <translation>La firma del catálogo coincide con la clave del sitio configurada en este equipo.</translation>
    </message>
    <message>
        <source>Unsigned catalog</source>
        <translation>Catálogo sin firmar</translation>
    </message>
    <message>
        <source>No site key is set on this computer, so the catalog&apos;s origin is not verified. Content is still checked against the catalog&apos;s SHA-256 hashes.</source>
        <translation>No hay ninguna clave de sitio configurada en este equipo, así que el origen del catálogo no se verifica. El contenido se sigue comprobando con los hashes SHA-256 del catálogo.</translation>
    </message>
    <message>
        <source>Site not reached</source>
        <translation>Sitio no accesible</translation>
    </message>
    <message>
        <source>Your choice applies now but could not be saved for next time.</source>
        <translation>Su elección se aplica ahora, pero no se ha podido guardar para la próxima vez.</translation>
    </message>
    <message>
        <source>Clear downloaded content?</source>
        <translation>¿Borrar el contenido descargado?</translation>
    </message>
    <message>
        <source>Installing again will download everything again. Nothing installed is removed.</source>
        <translation>Si vuelve a instalar, se descargará todo de nuevo. No se quita nada de lo instalado.</translation>
    </message>
    <message>
        <source>C&amp;lear</source>
        <translation>&amp;Borrar</translation>
    </message>
    <message>
        <source>&amp;Keep</source>
        <translation>&amp;Conservar</translation>
    </message>
    <message>
        <source>Installation finished</source>
        <translation>Instalación terminada</translation>
    </message>
    <message>
        <source>“%1” was installed.</source>
        <translation>«%1» se ha instalado.</translation>
    </message>
    <message>
        <source>Installation failed</source>
        <translation>La instalación ha fallado</translation>
    </message>
    <message>
        <source>“%1” could not be installed. Open Software Center to see why.</source>
        <translation>No se ha podido instalar «%1». Abra el Centro de software para ver por qué.</translation>
    </message>
    <message>
        <source>Restart needed</source>
        <translation>Hay que reiniciar</translation>
    </message>
    <message>
        <source>“%1” continues after your computer restarts.</source>
        <translation>«%1» continuará cuando se reinicie el equipo.</translation>
    </message>
    <message>
        <source>Reconnecting…</source>
        <translation>Reconectando…</translation>
    </message>
    <message>
        <source>Software Center keeps running</source>
        <translation>El Centro de software sigue abierto</translation>
    </message>
    <message>
        <source>It tells you here when an upgrade is required or finished. Quit it from its icon&apos;s menu.</source>
        <translation>Le avisará aquí cuando una actualización sea obligatoria o haya terminado. Para salir, use el menú de su icono.</translation>
    </message>
    <message>
        <source>Operating Systems</source>
        <translation>Sistemas operativos</translation>
    </message>
    <message>
        <source>Installation status</source>
        <translation>Estado de la instalación</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>Opciones</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Progreso</translation>
    </message>
    <message>
        <source>Pages</source>
        <translation>Páginas</translation>
    </message>
    <message>
        <source>Loading the catalog…</source>
        <translation>Cargando el catálogo…</translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation>&amp;Reintentar</translation>
    </message>
</context>
<context>
    <name>OptionsPage</name>
    <message>
        <source>Now: %1</source>
        <translation>Ahora: %1</translation>
    </message>
    <message>
        <source>The connection can be changed when the installation has finished.</source>
        <translation>La conexión se puede cambiar cuando termine la instalación.</translation>
    </message>
    <message>
        <source>Measuring…</source>
        <translation>Midiendo…</translation>
    </message>
    <message>
        <source>%1 in use</source>
        <translation>%1 en uso</translation>
    </message>
    <message>
        <source>Downloaded content can be cleared when the installation has finished.</source>
        <translation>El contenido descargado se puede borrar cuando termine la instalación.</translation>
    </message>
    <message>
        <source>Content is kept so that installing again or resuming does not download it twice.</source>
        <translation>El contenido se conserva para que reinstalar o reanudar no lo descargue dos veces.</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>Opciones</translation>
    </message>
    <message>
        <source>&amp;Connection:</source>
        <translation>&amp;Conexión:</translation>
    </message>
    <message>
        <source>Detect automatically</source>
        <translation>Detectar automáticamente</translation>
    </message>
    <message>
        <source>Always on the internet</source>
        <translation>Siempre en Internet</translation>
    </message>
    <message>
        <source>Always on the corporate network</source>
        <translation>Siempre en la red corporativa</translation>
    </message>
    <message>
        <source>Connection type</source>
        <translation>Tipo de conexión</translation>
    </message>
    <message>
        <source>&amp;Site address:</source>
        <translation>Dirección del &amp;sitio:</translation>
    </message>
    <message>
        <source>Site address</source>
        <translation>Dirección del sitio</translation>
    </message>
    <message>
        <source>&amp;Data folder:</source>
        <translation>Carpeta de &amp;datos:</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>Carpeta de datos</translation>
    </message>
    <message>
        <source>&amp;Open</source>
        <translation>&amp;Abrir</translation>
    </message>
    <message>
        <source>Open the data folder</source>
        <translation>Abrir la carpeta de datos</translation>
    </message>
    <message>
        <source>Downloaded content:</source>
        <translation>Contenido descargado:</translation>
    </message>
    <message>
        <source>Downloaded content</source>
        <translation>Contenido descargado</translation>
    </message>
    <message>
        <source>Clea&amp;r…</source>
        <translation>&amp;Borrar…</translation>
    </message>
    <message>
        <source>Clear downloaded content</source>
        <translation>Borrar el contenido descargado</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>&amp;Idioma:</translation>
    </message>
    <message>
        <source>Same as the system (%1)</source>
        <translation>El del sistema (%1)</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <source>The window changes language at once.</source>
        <translation>La ventana cambia de idioma al instante.</translation>
    </message>
</context>
<context>
    <name>Plurals</name>
    <message numerus="yes">
        <source>Preparing (%n step(s))</source>
        <translation>
            <numerusform>Preparando (%n paso)</numerusform>
            <numerusform>Preparando (%n pasos)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ProgressView</name>
    <message>
        <source>Cancel the upgrade?</source>
        <translation>¿Cancelar la actualización?</translation>
    </message>
    <message>
        <source>The step that is running now stops. Nothing is lost: what was downloaded is kept, and you can continue the upgrade later from where it stopped.</source>
        <translation>El paso en curso se detiene. No se pierde nada: lo descargado se conserva y podrá continuar la actualización más tarde desde donde se detuvo.</translation>
    </message>
    <message>
        <source>Cancel upgrade</source>
        <translation>Cancelar la actualización</translation>
    </message>
    <message>
        <source>Keep running</source>
        <translation>Seguir</translation>
    </message>
    <message>
        <source>Running: %1</source>
        <translation>En curso: %1</translation>
    </message>
    <message>
        <source>Completed: %1</source>
        <translation>Completada: %1</translation>
    </message>
    <message>
        <source>Failed: %1</source>
        <translation>Con errores: %1</translation>
    </message>
    <message>
        <source>Cancelled: %1</source>
        <translation>Cancelada: %1</translation>
    </message>
    <message>
        <source>Restart pending: %1</source>
        <translation>Reinicio pendiente: %1</translation>
    </message>
    <message>
        <source>No task sequence is running</source>
        <translation>No hay ninguna secuencia de tareas en curso</translation>
    </message>
    <message>
        <source>Step %1 of %2</source>
        <translation>Paso %1 de %2</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>%1 % complete</source>
        <translation>%1 % completado</translation>
    </message>
    <message>
        <source>Hide &amp;details</source>
        <translation>Ocultar &amp;detalles</translation>
    </message>
    <message>
        <source>Show &amp;details</source>
        <translation>Mostrar &amp;detalles</translation>
    </message>
    <message>
        <source>Hide the log</source>
        <translation>Ocultar el registro</translation>
    </message>
    <message>
        <source>Show the log (smsts.log)</source>
        <translation>Mostrar el registro (smsts.log)</translation>
    </message>
    <message>
        <source>Waiting for you to restart the computer</source>
        <translation>Esperando a que reinicie el equipo</translation>
    </message>
    <message>
        <source>Restarting the computer to continue</source>
        <translation>Reiniciando el equipo para continuar</translation>
    </message>
    <message>
        <source>Finished: everything is done</source>
        <translation>Terminado: todo está hecho</translation>
    </message>
    <message>
        <source>Stopped: the upgrade could not finish</source>
        <translation>Detenido: la actualización no pudo terminar</translation>
    </message>
    <message>
        <source>Paused: you can continue it from where it stopped</source>
        <translation>En pausa: puede continuarla desde donde se detuvo</translation>
    </message>
    <message>
        <source>Downloading content</source>
        <translation>Descargando el contenido</translation>
    </message>
    <message>
        <source>Preparing</source>
        <translation>Preparando</translation>
    </message>
    <message>
        <source>Installing the upgrade</source>
        <translation>Instalando la actualización</translation>
    </message>
    <message>
        <source>Working on the upgrade</source>
        <translation>Trabajando en la actualización</translation>
    </message>
    <message>
        <source>The upgrade finished successfully.</source>
        <translation>La actualización terminó correctamente.</translation>
    </message>
    <message>
        <source>The upgrade was cancelled. Nothing is lost: you can continue it from where it stopped.</source>
        <translation>Se canceló la actualización. No se pierde nada: puede continuarla desde donde se detuvo.</translation>
    </message>
    <message>
        <source>The upgrade is waiting to continue. Choose Resume to continue it now.</source>
        <translation>La actualización está esperando para continuar. Elija Reanudar para continuarla ahora.</translation>
    </message>
    <message>
        <source>Reconnecting… The Software Center service stopped answering; the upgrade goes on, and this page follows it again as soon as the service answers.</source>
        <translation>Reconectando… El servicio de Centro de software dejó de responder; la actualización continúa, y esta página vuelve a seguirla en cuanto el servicio responda.</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>Pasos</translation>
    </message>
    <message>
        <source>Log (smsts.log)</source>
        <translation>Registro (smsts.log)</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Cancelar</translation>
    </message>
    <message>
        <source>Cancel the upgrade</source>
        <translation>Cancelar la actualización</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Reanudar</translation>
    </message>
    <message>
        <source>Continue the upgrade</source>
        <translation>Continuar la actualización</translation>
    </message>
    <message>
        <source>Overall progress</source>
        <translation>Progreso total</translation>
    </message>
    <message>
        <source>Steps of the task sequence</source>
        <translation>Pasos de la secuencia de tareas</translation>
    </message>
    <message>
        <source>Last lines of the log</source>
        <translation>Últimas líneas del registro</translation>
    </message>
</context>
<context>
    <name>RestartCountdown</name>
    <message>
        <source>&amp;Restart now</source>
        <translation>&amp;Reiniciar ahora</translation>
    </message>
    <message>
        <source>Restart now</source>
        <translation>Reiniciar ahora</translation>
    </message>
    <message>
        <source>&amp;Snooze</source>
        <translation>&amp;Posponer</translation>
    </message>
    <message>
        <source>Postpone the restart</source>
        <translation>Posponer el reinicio</translation>
    </message>
    <message>
        <source>Postpone the restart by</source>
        <translation>Posponer el reinicio durante</translation>
    </message>
    <message>
        <source>Your computer restarts to continue the upgrade.</source>
        <translation>Su equipo se reinicia para continuar la actualización.</translation>
    </message>
    <message>
        <source>Restart your computer to continue</source>
        <translation>Reinicie el equipo para continuar</translation>
    </message>
    <message>
        <source>The restart is postponed until %1. Save your work, then choose Restart now; the upgrade continues from where it stopped.</source>
        <translation>El reinicio está pospuesto hasta %1. Guarde su trabajo y después elija Reiniciar ahora; la actualización continúa desde donde se detuvo.</translation>
    </message>
    <message>
        <source>Restarting…</source>
        <translation>Reiniciando…</translation>
    </message>
    <message>
        <source>The computer could not be restarted</source>
        <translation>No se pudo reiniciar el equipo</translation>
    </message>
    <message>
        <source>The upgrade continues when you sign in again (software-center resume).</source>
        <translation>La actualización continúa cuando vuelva a iniciar sesión (software-center resume).</translation>
    </message>
    <message>
        <source>Restart the computer yourself: the upgrade continues when you sign in again, or choose Resume to continue now.</source>
        <translation>Reinicie usted el equipo: la actualización continúa cuando vuelva a iniciar sesión; o elija Reanudar para continuar ahora.</translation>
    </message>
    <message numerus="yes">
        <source>Restarting in %n s</source>
        <translation>
            <numerusform>Reinicio en %n s</numerusform>
            <numerusform>Reinicio en %n s</numerusform>
        </translation>
    </message>
    <message>
        <source>After the restart, the upgrade continues when you sign in (software-center resume).</source>
        <translation>Después del reinicio, la actualización continúa cuando inicie sesión (software-center resume).</translation>
    </message>
    <message>
        <source>Save your work. The upgrade then continues from where it stopped.</source>
        <translation>Guarde su trabajo. Después, la actualización continúa desde donde se detuvo.</translation>
    </message>
</context>
<context>
    <name>ResumeBanner</name>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Reanudar</translation>
    </message>
    <message>
        <source>Resume the installation</source>
        <translation>Reanudar la instalación</translation>
    </message>
    <message>
        <source>&amp;Not now</source>
        <translation>&amp;Ahora no</translation>
    </message>
    <message>
        <source>An installation can be resumed</source>
        <translation>Se puede reanudar una instalación</translation>
    </message>
    <message>
        <source>“%1” is waiting to continue after a restart. Resume it when you are ready.</source>
        <translation>«%1» espera para continuar después de un reinicio. Reanúdela cuando esté listo.</translation>
    </message>
    <message>
        <source>“%1” was stopped at step %2 of %3. It can continue where it stopped.</source>
        <translation>«%1» se detuvo en el paso %2 de %3. Puede continuar donde se detuvo.</translation>
    </message>
    <message>
        <source>“%1” was interrupted at step %2 of %3. It can continue where it stopped.</source>
        <translation>«%1» se interrumpió en el paso %2 de %3. Puede continuar donde se detuvo.</translation>
    </message>
</context>
<context>
    <name>RunController</name>
    <message>
        <source>A task sequence is already running in this window.</source>
        <translation>Ya hay una secuencia de tareas en curso en esta ventana.</translation>
    </message>
    <message>
        <source>The software catalog is not loaded yet. Try again in a moment.</source>
        <translation>El catálogo de software aún no se ha cargado. Vuelva a intentarlo en un momento.</translation>
    </message>
    <message>
        <source>The log cannot be written in the data folder %1 (%2). Nothing was started.</source>
        <translation>No se puede escribir el registro en la carpeta de datos %1 (%2). No se ha iniciado nada.</translation>
    </message>
    <message>
        <source>The task sequence stopped because of an unexpected error: %1</source>
        <translation>La secuencia de tareas se detuvo por un error inesperado: %1</translation>
    </message>
    <message>
        <source>The data folder %1 cannot be written (%2). The run was stopped.</source>
        <translation>No se puede escribir en la carpeta de datos %1 (%2). Se detuvo la ejecución.</translation>
    </message>
    <message>
        <source>Another Software Center is running a task sequence on this computer.</source>
        <translation>Otro Centro de software está ejecutando una secuencia de tareas en este equipo.</translation>
    </message>
    <message>
        <source>Wait for it to finish, then try again.</source>
        <translation>Espere a que termine y vuelva a intentarlo.</translation>
    </message>
    <message>
        <source>An earlier upgrade has not finished yet.</source>
        <translation>Una actualización anterior aún no ha terminado.</translation>
    </message>
    <message>
        <source>Continue it first (Resume); a new one can start after it.</source>
        <translation>Continúela primero (Reanudar); después podrá iniciar otra.</translation>
    </message>
    <message>
        <source>There is no interrupted upgrade to continue.</source>
        <translation>No hay ninguna actualización interrumpida que continuar.</translation>
    </message>
    <message>
        <source>The interrupted upgrade cannot be continued: what was saved about it is damaged, or your organization no longer offers it.</source>
        <translation>La actualización interrumpida no se puede continuar: lo que se guardó de ella está dañado o su organización ya no la ofrece.</translation>
    </message>
    <message>
        <source>Ask your IT department for help.</source>
        <translation>Pida ayuda a su departamento de TI.</translation>
    </message>
    <message>
        <source>%1 %2</source>
        <translation>%1 %2</translation>
    </message>
    <message>
        <source>This upgrade cannot run on this computer now: %1</source>
        <translation>Esta actualización no se puede ejecutar ahora en este equipo: %1</translation>
    </message>
</context>
<context>
    <name>ScheduleWatch</name>
    <message>
        <source>A required upgrade starts soon</source>
        <translation>Una actualización obligatoria empieza pronto</translation>
    </message>
    <message>
        <source>“%1” starts by itself on %2. Save your work, or install it now.</source>
        <translation>«%1» empezará sola el %2. Guarde su trabajo o instálela ahora.</translation>
    </message>
    <message>
        <source>A new required upgrade</source>
        <translation>Una nueva actualización obligatoria</translation>
    </message>
    <message>
        <source>“%1” must be installed by %2.</source>
        <translation>«%1» debe instalarse antes del %2.</translation>
    </message>
</context>
<context>
    <name>SnoozePlurals</name>
    <message numerus="yes">
        <source>%n minute(s)</source>
        <translation>
            <numerusform>%n minuto</numerusform>
            <numerusform>%n minutos</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n hour(s)</source>
        <translation>
            <numerusform>%n hora</numerusform>
            <numerusform>%n horas</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
</context>
<context>
    <name>StatusPage</name>
    <message>
        <source>Installation status</source>
        <translation>Estado de la instalación</translation>
    </message>
    <message>
        <source>Press Enter or double-click a run to see its details.</source>
        <translation>Pulse Intro o haga doble clic en una ejecución para ver sus detalles.</translation>
    </message>
    <message>
        <source>Nothing has been installed from Software Center on this computer yet.</source>
        <translation>Todavía no se ha instalado nada desde el Centro de software en este equipo.</translation>
    </message>
    <message>
        <source>Installations</source>
        <translation>Instalaciones</translation>
    </message>
</context>
<context>
    <name>StepDelegate</name>
    <message>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
</context>
<context>
    <name>StepModel</name>
    <message>
        <source>%1/s</source>
        <translation>%1/s</translation>
    </message>
    <message>
        <source>%1 s left</source>
        <translation>quedan %1 s</translation>
    </message>
    <message>
        <source>%1 min left</source>
        <translation>quedan %1 min</translation>
    </message>
    <message>
        <source>%1 h %2 min left</source>
        <translation>quedan %1 h %2 min</translation>
    </message>
    <message>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
    <message>
        <source>Skipped: disabled</source>
        <translation>Omitido: deshabilitado</translation>
    </message>
    <message>
        <source>Skipped: condition not met</source>
        <translation>Omitido: no se cumple la condición</translation>
    </message>
    <message>
        <source>Not run</source>
        <translation>No ejecutado</translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>Deshabilitado</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>Pendiente</translation>
    </message>
    <message>
        <source>Downloading</source>
        <translation>Descargando</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>En curso</translation>
    </message>
    <message>
        <source>Succeeded, restart required</source>
        <translation>Correcto, requiere reinicio</translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation>Correcto</translation>
    </message>
    <message>
        <source>Failed (%1)</source>
        <translation>Con errores (%1)</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Con errores</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 de %2</translation>
    </message>
    <message>
        <source>%1: downloaded and verified, %2</source>
        <translation>%1: descargado y comprobado, %2</translation>
    </message>
    <message>
        <source>%1: download failed at %2</source>
        <translation>%1: la descarga falló en %2</translation>
    </message>
    <message>
        <source>%1: %2 · connection problem, trying again (attempt %3)</source>
        <translation>%1: %2 · problema de conexión, se vuelve a intentar (intento %3)</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>Trabajando…</translation>
    </message>
    <message>
        <source>Downloading content before the first step</source>
        <translation>Descargando el contenido antes del primer paso</translation>
    </message>
</context>
<context>
    <name>TimeWords</name>
    <message numerus="yes">
        <source>in %n day(s)</source>
        <translation>
            <numerusform>en %n día</numerusform>
            <numerusform>en %n días</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>in %n hour(s)</source>
        <translation>
            <numerusform>en %n hora</numerusform>
            <numerusform>en %n horas</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>in %n minute(s)</source>
        <translation>
            <numerusform>en %n minuto</numerusform>
            <numerusform>en %n minutos</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>Software Center</source>
        <translation>Centro de software</translation>
    </message>
    <message>
        <source>&amp;Open Software Center</source>
        <translation>&amp;Abrir el Centro de software</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Salir</translation>
    </message>
</context>
<context>
    <name>Words</name>
    <message>
        <source>Needs the corporate network</source>
        <translation>Necesita la red corporativa</translation>
    </message>
    <message>
        <source>Runs only from an on-premises server</source>
        <translation>Solo se ejecuta desde un servidor local</translation>
    </message>
    <message>
        <source>Some content is only on the corporate network</source>
        <translation>Parte del contenido solo está en la red corporativa</translation>
    </message>
    <message>
        <source>Not supported from boot media or PXE</source>
        <translation>No se admite desde medios de arranque ni PXE</translation>
    </message>
    <message>
        <source>Not available yet</source>
        <translation>Aún no disponible</translation>
    </message>
    <message>
        <source>No longer available</source>
        <translation>Ya no está disponible</translation>
    </message>
    <message>
        <source>Only for boot media and PXE</source>
        <translation>Solo para medios de arranque y PXE</translation>
    </message>
    <message>
        <source>Not in this catalog</source>
        <translation>No está en este catálogo</translation>
    </message>
    <message>
        <source>Your IT department allows this upgrade only while this computer is connected to the corporate network, and it is on the internet now. Connect to the office network or VPN, then try again.</source>
        <translation>Su departamento de TI solo permite esta actualización mientras el equipo está conectado a la red corporativa, y ahora está en Internet. Conéctese a la red de la oficina o a la VPN y vuelva a intentarlo.</translation>
    </message>
    <message>
        <source>This upgrade runs its files directly from a server inside the corporate network, which cannot be reached from the internet. Connect to the office network, then try again.</source>
        <translation>Esta actualización ejecuta sus archivos directamente desde un servidor de la red corporativa, al que no se puede acceder desde Internet. Conéctese a la red de la oficina y vuelva a intentarlo.</translation>
    </message>
    <message>
        <source>Part of this upgrade&apos;s content is stored only on servers inside the corporate network, so it cannot be downloaded from the internet. Nothing was started. Connect to the office network, or ask your IT department to publish the content to the cloud.</source>
        <translation>Parte del contenido de esta actualización solo está en servidores de la red corporativa, así que no se puede descargar desde Internet. No se ha iniciado nada. Conéctese a la red de la oficina o pida a su departamento de TI que publique el contenido en la nube.</translation>
    </message>
    <message>
        <source>Downloading content on demand over the internet works only when the upgrade is started from Software Center, not from boot media or a network (PXE) start.</source>
        <translation>La descarga de contenido a petición a través de Internet solo funciona cuando la actualización se inicia desde el Centro de software, no desde medios de arranque ni desde un arranque por red (PXE).</translation>
    </message>
    <message>
        <source>Your IT department has scheduled this upgrade for later. It will become available here on its start date.</source>
        <translation>Su departamento de TI ha programado esta actualización para más adelante. Estará disponible aquí en su fecha de inicio.</translation>
    </message>
    <message>
        <source>This upgrade is no longer offered. Ask your IT department if you still need it.</source>
        <translation>Esta actualización ya no se ofrece. Consulte a su departamento de TI si todavía la necesita.</translation>
    </message>
    <message>
        <source>This upgrade is only for boot media and network (PXE) starts.</source>
        <translation>Esta actualización solo es para medios de arranque y arranques por red (PXE).</translation>
    </message>
    <message>
        <source>This upgrade is not in your organization&apos;s catalog.</source>
        <translation>Esta actualización no está en el catálogo de su organización.</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>En curso</translation>
    </message>
    <message>
        <source>Waiting for a restart</source>
        <translation>Esperando un reinicio</translation>
    </message>
    <message>
        <source>Stopped, can be resumed</source>
        <translation>Detenida, se puede reanudar</translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation>Correcta</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Con errores</translation>
    </message>
    <message>
        <source>Not started</source>
        <translation>No iniciada</translation>
    </message>
    <message>
        <source>Internet</source>
        <translation>Internet</translation>
    </message>
    <message>
        <source>Corporate network</source>
        <translation>Red corporativa</translation>
    </message>
    <message>
        <source>Detecting connection…</source>
        <translation>Detectando la conexión…</translation>
    </message>
    <message>
        <source>%1 (detected)</source>
        <translation>%1 (detectada)</translation>
    </message>
    <message>
        <source>%1 (always)</source>
        <translation>%1 (siempre)</translation>
    </message>
    <message>
        <source>Cloud (reachable from the internet)</source>
        <translation>Nube (accesible desde Internet)</translation>
    </message>
    <message>
        <source>On-premises distribution point (corporate network only)</source>
        <translation>Punto de distribución local (solo red corporativa)</translation>
    </message>
    <message>
        <source>Cloud and on-premises distribution points</source>
        <translation>Nube y puntos de distribución locales</translation>
    </message>
    <message>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <source>%1 h</source>
        <translation>%1 h</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>Another installation is already running on this computer. Wait until it has finished.</source>
        <translation>Ya hay otra instalación en curso en este equipo. Espere a que termine.</translation>
    </message>
    <message>
        <source>The installation is waiting for a restart of the computer; it continues after the restart.</source>
        <translation>La instalación está esperando un reinicio del equipo; continuará después del reinicio.</translation>
    </message>
    <message>
        <source>You are not allowed to do this on this computer. Ask your IT department.</source>
        <translation>No tiene permiso para hacer esto en este equipo. Consulte a su departamento de TI.</translation>
    </message>
    <message>
        <source>The software catalog could not be read. Try again in a moment.</source>
        <translation>No se pudo leer el catálogo de software. Vuelva a intentarlo dentro de un momento.</translation>
    </message>
    <message>
        <source>The Software Center service does not answer. Try again in a moment; if it still does not answer, restart the computer or contact your IT department.</source>
        <translation>El servicio de Centro de software no responde. Vuelva a intentarlo dentro de un momento; si sigue sin responder, reinicie el equipo o póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>Software Center and its service did not understand each other (%1). Contact your IT department.</source>
        <translation>Centro de software y su servicio no se entendieron (%1). Póngase en contacto con su departamento de TI.</translation>
    </message>
    <message>
        <source>Software Center could not restart the computer. Restart your computer to continue.</source>
        <translation>Centro de software no pudo reiniciar el equipo. Reinicie el equipo para continuar.</translation>
    </message>
    <message>
        <source>The computer did not restart. Restart your computer to continue.</source>
        <translation>El equipo no se reinició. Reinicie el equipo para continuar.</translation>
    </message>
    <message>
        <source>Part of this upgrade&apos;s content is stored only on servers inside the corporate network, so it cannot be downloaded from the internet. Connect to the office network, or ask your IT department to publish the content to the cloud.</source>
        <translation>Parte del contenido de esta actualización solo está en servidores de la red corporativa, por lo que no se puede descargar desde internet. Conéctese a la red de la oficina o pida a su departamento de TI que publique el contenido en la nube.</translation>
    </message>
    <message>
        <source>overdue</source>
        <translation>vencido</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
</context>
</TS>
